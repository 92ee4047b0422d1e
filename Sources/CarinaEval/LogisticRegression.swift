// One binary L2-regularised logistic regression with an unpenalised intercept, minimising exactly
// scikit-learn's LogisticRegression (lbfgs) objective 0.5·‖w‖² + C·Σᵢ log(1 + exp(−yᵢ(w·xᵢ + b))), yᵢ = ±1,
// by Newton's method: objective and gradient in Double, Hessian by an SGEMM, Cholesky solve in Double
// refined against the exact Hessian-vector product, backtracking line search. Not for: standardising
// features or choosing rows (LinearProbe).
import CarinaNN
import Foundation

public struct LogisticRegression: Sendable {
    /// Inverse regularisation strength, scikit-learn's C.
    public var C: Double
    /// Converged when max |∇| ≤ tolerance · max(1, C·n) (scikit-learn's lbfgs gtol applies to the
    /// objective divided by C·n, so tolerance plays the part of its `tol`).
    public var tolerance: Double
    public var maxIterations: Int
    /// Refinements of each Newton step against the exact Hessian-vector product (tests turn them off).
    var refinements = 2

    public init(C: Double = 1, tolerance: Double = 1e-10, maxIterations: Int = 100) {
        (self.C, self.tolerance, self.maxIterations) = (C, tolerance, maxIterations)
    }

    public struct Fit: Sendable, Equatable {
        /// w (D,) and b.
        public let coefficients: [Double]
        public let intercept: Double
        public let iterations: Int
        /// max |∇| at the solution.
        public let gradient: Double
    }

    /// Fits x (n, D) row-major to labels (n,); `name` appears in errors. Throws when Newton's method has
    /// not converged after maxIterations.
    public func fit(x: [Double], labels: [Bool], featureCount d: Int, name: String) throws -> Fit {
        let n = labels.count
        precondition(x.count == n * d, "LogisticRegression(\(name)): \(x.count) values for \(n) x \(d)")
        let m = d + 1  // unknowns: w then b
        let limit = tolerance * Swift.max(1, C * Double(n))
        // [x, 1] rows in Float for the Hessian's GEMM.
        var xf = [Float](repeating: 1, count: n * m)  // (n, D + 1)
        for i in 0..<n { for k in 0..<d { xf[i * m + k] = Float(x[i * d + k]) } }

        var theta = [Double](repeating: 0, count: m)
        var (f, g, p) = evaluate(theta, x: x, labels: labels, d: d)
        var iteration = 0
        while true {
            let gmax = g.reduce(0) { Swift.max($0, abs($1)) }
            if gmax <= limit {
                return Fit(coefficients: Array(theta[0..<d]), intercept: theta[d], iterations: iteration, gradient: gmax)
            }
            guard iteration < maxIterations else {
                throw EvalError.probeDidNotConverge(className: name, iterations: iteration, gradient: gmax, tolerance: limit)
            }
            iteration += 1
            let h = try hessian(p: p, xf: xf, n: n, m: m)  // (D + 1, D + 1), from Float32 products
            guard let l = Self.cholesky(h, m: m) else {
                throw EvalError.probeSingularHessian(className: name, iteration: iteration)
            }
            // The Newton step −H⁻¹g, refined twice against the exact Hessian-vector product in Double, so
            // the Float32 rounding of the factored Hessian does not slow convergence when it is ill-conditioned.
            let plain = Self.solve(l, m: m, g.map { -$0 })
            var step = plain
            for _ in 0..<refinements {
                let hs = hessianTimes(step, p: p, x: x, d: d)
                let correction = Self.solve(l, m: m, (0..<m).map { -g[$0] - hs[$0] })
                for k in 0..<m { step[k] += correction[k] }
            }
            var slope = zip(g, step).reduce(0) { $0 + $1.0 * $1.1 }
            if !(slope < 0) {  // refinement diverged (rounding beyond repair): the unrefined step descends
                step = plain
                slope = zip(g, step).reduce(0) { $0 + $1.0 * $1.1 }
            }
            // Backtracking (Armijo). Near the optimum the decrease falls below the objective's rounding;
            // a full step that does not raise it beyond rounding and shrinks the gradient is taken then.
            var t = 1.0
            while true {
                let candidate = zip(theta, step).map { $0 + t * $1 }
                let next = evaluate(candidate, x: x, labels: labels, d: d)
                let nextMax = next.g.reduce(0) { Swift.max($0, abs($1)) }
                if next.f <= f + 1e-4 * t * slope || (t == 1 && next.f - f <= 1e-13 * Swift.max(1, abs(f)) && nextMax < gmax) {
                    (theta, f, g, p) = (candidate, next.f, next.g, next.p)
                    break
                }
                t /= 2
                if t < 1e-12 {
                    throw EvalError.probeDidNotConverge(className: name, iterations: iteration, gradient: gmax, tolerance: limit)
                }
            }
        }
    }

    /// Objective, gradient (D + 1,) and probabilities σ(w·xᵢ + b) (n,) at theta = (w, b).
    func evaluate(_ theta: [Double], x: [Double], labels: [Bool], d: Int) -> (f: Double, g: [Double], p: [Double]) {
        let n = labels.count
        var loss = 0.0
        var g = [Double](repeating: 0, count: d + 1), p = [Double](repeating: 0, count: n)
        x.withUnsafeBufferPointer { x in
            theta.withUnsafeBufferPointer { w in
                g.withUnsafeMutableBufferPointer { g in
                    for i in 0..<n {
                        let row = x.baseAddress! + i * d
                        var z = w[d]
                        for k in 0..<d { z += w[k] * row[k] }
                        // log(1 + exp(−y·z)) and σ(z), without overflow.
                        let margin = labels[i] ? z : -z
                        loss += margin > 0 ? log1p(exp(-margin)) : -margin + log1p(exp(margin))
                        let prob = z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
                        p[i] = prob
                        let r = prob - (labels[i] ? 1 : 0)
                        for k in 0..<d { g[k] += r * row[k] }
                        g[d] += r
                    }
                }
            }
        }
        var penalty = 0.0
        for k in 0..<d { penalty += theta[k] * theta[k] }
        for k in 0...d { g[k] *= C }
        for k in 0..<d { g[k] += theta[k] }
        return (0.5 * penalty + C * loss, g, p)
    }

    /// ∇² = [[I, 0], [0, 0]] + C·[x, 1]ᵀ diag(p(1−p)) [x, 1], the product by one SGEMM of the rows
    /// scaled by √(C·pᵢ(1−pᵢ)).
    func hessian(p: [Double], xf: [Float], n: Int, m: Int) throws -> [Double] {
        var scaled = xf  // (n, D + 1)
        for i in 0..<n {
            let s = Float((C * p[i] * (1 - p[i])).squareRoot())
            for k in 0..<m { scaled[i * m + k] *= s }
        }
        let a = Tensor(shape: [n, m], values: scaled)
        let product = try Autograd.withoutGrad { try a.matmul(a, transposeSelf: true) }  // (D + 1, D + 1)
        var h = product.scalars.map(Double.init)
        for k in 0..<(m - 1) { h[k * m + k] += 1 }
        return h
    }

    /// ∇²·v (D + 1,) in Double from x itself: v_w + C·Σᵢ pᵢ(1−pᵢ)(xᵢ·v_w + v_b)·[xᵢ, 1].
    func hessianTimes(_ v: [Double], p: [Double], x: [Double], d: Int) -> [Double] {
        var out = [Double](repeating: 0, count: d + 1)
        x.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { out in
                for i in 0..<p.count {
                    let row = x.baseAddress! + i * d
                    var u = v[d]
                    for k in 0..<d { u += row[k] * v[k] }
                    let s = C * p[i] * (1 - p[i]) * u
                    for k in 0..<d { out[k] += s * row[k] }
                    out[d] += s
                }
            }
        }
        for k in 0..<d { out[k] += v[k] }
        return out
    }

    /// Σₖ a[k]·b[k] over count elements, with eight independent lanes (the Cholesky's inner loop; a plain
    /// loop is one dependent add per element).
    @inline(__always)
    static func dot(_ a: UnsafeMutablePointer<Double>, _ b: UnsafeMutablePointer<Double>, _ count: Int) -> Double {
        var s0 = SIMD4<Double>(), s1 = SIMD4<Double>()
        var k = 0
        while k + 8 <= count {
            s0 += UnsafeRawPointer(a + k).loadUnaligned(as: SIMD4<Double>.self) * UnsafeRawPointer(b + k).loadUnaligned(as: SIMD4<Double>.self)
            s1 += UnsafeRawPointer(a + k + 4).loadUnaligned(as: SIMD4<Double>.self) * UnsafeRawPointer(b + k + 4).loadUnaligned(as: SIMD4<Double>.self)
            k += 8
        }
        var sum = (s0 + s1).sum()
        while k < count {
            sum += a[k] * b[k]
            k += 1
        }
        return sum
    }

    /// The lower Cholesky factor L (m, m) of a symmetric positive definite a, in Double; retried with a
    /// growing ridge when rounding leaves a non-positive pivot (the factor is then a preconditioner: the
    /// gradient in Double still decides the optimum). Nil when every ridge fails.
    static func cholesky(_ a: [Double], m: Int) -> [Double]? {
        let scale = (0..<m).reduce(0) { Swift.max($0, abs(a[$1 * m + $1])) }
        for ridge in [0, 1e-12, 1e-9, 1e-6, 1e-4, 1e-2].map({ $0 * scale }) {
            var l = a
            var ok = true
            l.withUnsafeMutableBufferPointer { l in
                for j in 0..<m where ok {
                    let rowJ = l.baseAddress! + j * m
                    let s = rowJ[j] + ridge - Self.dot(rowJ, rowJ, j)
                    guard s > 0 else { ok = false; return }
                    let pivot = s.squareRoot()
                    rowJ[j] = pivot
                    for i in (j + 1)..<m {
                        let rowI = l.baseAddress! + i * m
                        rowI[j] = (rowI[j] - Self.dot(rowI, rowJ, j)) / pivot
                    }
                }
            }
            if ok { return l }
        }
        return nil
    }

    /// x with L Lᵀ x = b: L y = b, then Lᵀ x = y.
    static func solve(_ l: [Double], m: Int, _ b: [Double]) -> [Double] {
        var y = b
        for i in 0..<m {
            var s = y[i]
            for k in 0..<i { s -= l[i * m + k] * y[k] }
            y[i] = s / l[i * m + i]
        }
        for i in stride(from: m - 1, through: 0, by: -1) {
            var s = y[i]
            for k in (i + 1)..<m { s -= l[k * m + i] * y[k] }
            y[i] = s / l[i * m + i]
        }
        return y
    }
}
