// The errors of CarinaEval, each naming what failed and what was expected. Not for: precondition
// failures of malformed metric inputs (programming errors, checked by precondition).

public enum EvalError: Error, CustomStringConvertible, Equatable {
    /// Newton's method stopped before the gradient met the tolerance.
    case probeDidNotConverge(className: String, iterations: Int, gradient: Double, tolerance: Double)
    /// The Newton system could not be factored (not positive definite even with a ridge).
    case probeSingularHessian(className: String, iteration: Int)

    public var description: String {
        switch self {
        case let .probeDidNotConverge(name, iterations, gradient, tolerance):
            "linear probe, class \(name): no convergence after \(iterations) Newton iterations (max |gradient| \(gradient), tolerance \(tolerance))"
        case let .probeSingularHessian(name, iteration):
            "linear probe, class \(name): the Hessian at Newton iteration \(iteration) is not positive definite"
        }
    }
}
