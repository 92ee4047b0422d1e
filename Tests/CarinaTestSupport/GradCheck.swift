// Finite-difference gradient checking: the analytic gradient of L = sum(w ⊙ f(x)) (w random, fixed)
// against central differences (L(x+h) - L(x-h)) / 2h, with L accumulated in Double.
import Testing
import CarinaTensor

public struct GradCheckFailure: Error, CustomStringConvertible {
    public let description: String
}

/// Random tensor with values in [lo, hi), deterministic for `stream`.
public func randomTensor(_ shape: [Int], _ lo: Float = -1, _ hi: Float = 1, stream: Int = 0) -> Tensor {
    var rng = RNG(seed: 1234, "test", stream, shape.reduce(1, *), shape.count)
    return Tensor.uniform(shape, lo, hi, rng: &rng)
}

/// Runs f on fresh copies of the inputs, backpropagates a fixed random weighting of its output, and returns
/// the output values and the inputs' gradients (to compare two computations of the same thing).
public func valuesAndGradients(_ inputs: [Tensor], _ f: ([Tensor]) throws -> Tensor) throws -> ([Float], [[Float]]) {
    let xs = inputs.map { t -> Tensor in let c = t.copy(); c.requiresGrad = true; return c }
    let y = try f(xs)
    try y.backward(randomTensor(y.shape, stream: 77))
    return (y.scalars, xs.map { $0.grad!.scalars })
}

/// Checks every input's gradient (all elements, or `maxElements` spread over the tensor).
public func checkGradients(
    _ inputs: [Tensor], h: Float = 1e-3, rtol: Float = 2e-2, atol: Float = 2e-3, maxElements: Int = 64,
    sourceLocation: SourceLocation = #_sourceLocation, _ f: ([Tensor]) throws -> Tensor
) throws {
    for x in inputs {
        x.requiresGrad = true
        x.grad = nil
    }
    let out = try f(inputs)
    let w = randomTensor(out.shape, -1, 1, stream: 99)
    let seedBits = w.scalars.map(\.bitPattern)
    try out.backward(w)
    // Backward hands the seed itself to the op's backward closure (no copy): it must only read it.
    if w.scalars.map(\.bitPattern) != seedBits {
        Issue.record("backward changed the seed gradient it was given", sourceLocation: sourceLocation)
    }

    func loss() throws -> Double {
        let y = try Autograd.withoutGrad { try f(inputs) }
        var s = 0.0
        for i in 0..<y.count { s += Double(y.pointer[i]) * Double(w.pointer[i]) }
        return s
    }

    for (k, x) in inputs.enumerated() {
        guard let analytic = x.grad else {
            throw GradCheckFailure(description: "input \(k) \(x.shape) received no gradient")
        }
        let n = x.count
        let step = max(1, n / maxElements)
        var worst: (index: Int, a: Float, numeric: Float)? = nil
        var i = 0
        while i < n {
            let saved = x.pointer[i]
            x.pointer[i] = saved + h
            let lp = try loss()
            x.pointer[i] = saved - h
            let lm = try loss()
            x.pointer[i] = saved
            let numeric = Float((lp - lm) / (2 * Double(h)))
            let a = analytic.pointer[i]
            if abs(a - numeric) > atol + rtol * max(abs(a), abs(numeric)) {
                if worst == nil || abs(a - numeric) > abs(worst!.a - worst!.numeric) { worst = (i, a, numeric) }
            }
            i += step
        }
        if let worst {
            Issue.record("input \(k) \(x.shape): element \(worst.index) analytic \(worst.a) vs numeric \(worst.numeric)",
                         sourceLocation: sourceLocation)
        }
    }
}
