// The probe's Newton solver reaches the optimum (gradient at the tolerance) also where the Float32
// Hessian is badly conditioned, helped by refining each step in Double. Not for: equality with
// scikit-learn (ProbeReferenceTests).
import Testing
@testable import CarinaEval
import CarinaNN

@Suite struct LogisticRegressionTests {
    /// 300 rows of 40 features: 4 base columns and 36 copies of them with noise 1e-3; the label follows
    /// base 0 − base 1 plus noise.
    func collinear() -> (x: [Double], y: [Bool]) {
        var rng = RNG(seed: 2, "collinear")
        var x: [Double] = [], y: [Bool] = []
        for _ in 0..<300 {
            let base = (0..<4).map { _ in Double(rng.normal()) }
            x += (0..<40).map { base[$0 % 4] + ($0 < 4 ? 0 : 1e-3 * Double(rng.normal())) }
            y.append(base[0] - base[1] + Double(rng.normal()) > 0)
        }
        return (x, y)
    }

    @Test func newtonConvergesOnNearlyCollinearFeaturesWithWeakRegularisation() throws {
        let (x, y) = collinear()
        // C = 1e5: the Hessian's condition number is ~1e7, so its Float32 rounding (~1e-7) matters.
        let solver = LogisticRegression(C: 1e5)
        let fit = try solver.fit(x: x, labels: y, featureCount: 40, name: "collinear")
        #expect(fit.gradient <= solver.tolerance * 1e5 * 300 && fit.iterations <= 25, "\(fit.iterations) iterations")
        var unrefined = solver
        unrefined.refinements = 0
        let slow = try unrefined.fit(x: x, labels: y, featureCount: 40, name: "collinear")
        #expect(slow.iterations > fit.iterations, "\(slow.iterations) iterations without refinement")
        // The objective there is no higher than after a small move of a coordinate.
        let f = solver.evaluate(fit.coefficients + [fit.intercept], x: x, labels: y, d: 40).f
        for k in [0, 5, 40] {
            for delta in [-1e-4, 1e-4] {
                var moved = fit.coefficients + [fit.intercept]
                moved[k] += delta
                #expect(solver.evaluate(moved, x: x, labels: y, d: 40).f >= f)
            }
        }
    }

    /// C = 1e6 (condition number ~1e8): whether Newton reaches the tolerance depends on the Float32 Hessian's
    /// rounding, which differs between BLAS kernels (Haswell: it does not; AVX-512: it does). Either way the
    /// outcome is an optimum, verified in Double, or an error: never a fit short of the tolerance.
    @Test func extremeIllConditioningIsAVerifiedOptimumOrAnError() {
        let (x, y) = collinear()
        let solver = LogisticRegression(C: 1e6)
        do {
            let fit = try solver.fit(x: x, labels: y, featureCount: 40, name: "collinear")
            let theta = fit.coefficients + [fit.intercept]
            let at = solver.evaluate(theta, x: x, labels: y, d: 40)
            #expect(at.g.map(abs).max()! <= solver.tolerance * 1e6 * 300, "gradient \(at.g.map(abs).max()!)")
            for k in [0, 5, 39, 40] {
                for delta in [-1e-3, 1e-3] {
                    var moved = theta
                    moved[k] += delta
                    #expect(solver.evaluate(moved, x: x, labels: y, d: 40).f >= at.f)
                }
            }
        } catch {
            #expect(error is EvalError, "\(error)")
        }
    }

    /// Too few iterations for the problem is an error naming the class, not the last iterate.
    @Test func runningOutOfIterationsIsAnErrorNamingTheClass() {
        let (x, y) = collinear()
        #expect {
            try LogisticRegression(C: 1e6, maxIterations: 3).fit(x: x, labels: y, featureCount: 40, name: "collinear")
        } throws: { error in
            guard case EvalError.probeDidNotConverge(let name, let iterations, _, _) = error else { return false }
            return name == "collinear" && iterations <= 3
        }
    }
}
