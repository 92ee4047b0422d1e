// Elementwise unary ops (exp, log, sqrt, tanh, sigmoid, relu, GELU, abs, square, pow, clamp), each a
// forward map and a gradient rule dL/dx = g * f'(x, y) side by side.

extension Tensor {
    public func exp() -> Tensor {
        unaryAccumulating("exp", { SIMDMath.exp($0) }) { _, y, g in g * y }
    }

    /// Natural log (inputs <= 0 are clamped to the smallest normal float: no NaN).
    public func log() -> Tensor {
        unaryAccumulating("log", { SIMDMath.log($0) }) { x, _, g in g / x }
    }

    public func sqrt() -> Tensor {
        unaryAccumulating("sqrt", { $0.squareRoot() }) { _, y, g in g * 0.5 / y }
    }

    public func tanh() -> Tensor {
        unaryAccumulating("tanh", { SIMDMath.tanh($0) }) { _, y, g in g * (1 - y * y) }
    }

    public func sigmoid() -> Tensor {
        unaryAccumulating("sigmoid", { SIMDMath.sigmoid($0) }) { _, y, g in g * y * (1 - y) }
    }

    public func relu() -> Tensor {
        unaryAccumulating("relu", { $0.replacing(with: 0, where: $0 .< 0) }) { x, _, g in
            g.replacing(with: 0, where: x .<= 0)
        }
    }

    /// Exact GELU, x * Phi(x) with Phi the normal CDF (PyTorch's default `approximate='none'`).
    public func gelu() -> Tensor {
        unaryAccumulating("gelu", { x in 0.5 * x * (1 + SIMDMath.erf(x * 0.707_106_781_186_547_5)) }) { x, _, g in
            let cdf = 0.5 * (1 + SIMDMath.erf(x * 0.707_106_781_186_547_5))
            let pdf = SIMDMath.expOfNonPositive(-0.5 * x * x) * 0.398_942_280_401_432_7
            return g * (cdf + x * pdf)
        }
    }

    /// QuickGELU, x * sigmoid(1.702 x), as in OpenAI CLIP.
    public func quickGELU() -> Tensor {
        unaryAccumulating("quick_gelu", { x in x * SIMDMath.sigmoid(1.702 * x) }) { x, _, g in
            let s = SIMDMath.sigmoid(1.702 * x)
            return g * (s + 1.702 * x * s * (1 - s))
        }
    }

    public func abs() -> Tensor {
        unaryAccumulating("abs", { CarinaTensor.abs($0) }) { x, _, g in
            let sign = F8(repeating: 1).replacing(with: -1, where: x .< 0).replacing(with: 0, where: x .== 0)
            return g * sign
        }
    }

    public func square() -> Tensor {
        unaryAccumulating("square", { $0 * $0 }) { x, _, g in 2 * g * x }
    }

    /// x^p for x > 0 (or any x when p is a whole number handled by repeated products elsewhere).
    public func pow(_ p: Float) -> Tensor {
        unaryAccumulating("pow", { x in SIMDMath.exp(p * SIMDMath.log(x)) }) { x, y, g in g * p * y / x }
    }

    /// Clamps to [lo, hi]; the gradient is passed where the input lies inside (ties pass).
    public func clamped(min lo: Float = -.infinity, max hi: Float = .infinity) -> Tensor {
        unaryAccumulating("clamp", { SIMDMath.clamp($0, lo, hi) }) { x, _, g in
            g.replacing(with: 0, where: (x .< lo) .| (x .> hi))
        }
    }

    /// y = f(x), gradient g * f'(x) accumulated into any gradient already present.
    func unaryAccumulating(_ op: String, _ f: @escaping (F8) -> F8, _ df: @escaping (_ x: F8, _ y: F8, _ g: F8) -> F8) -> Tensor {
        let out = Tensor(uninitialized: shape)
        Kernels.map(pointer, out.pointer, count, f)
        let y = out.detached()
        return Autograd.record(out, op, [self]) { [self] g in
            let x = pointer, yp = y.pointer, gp = g.pointer, n = count
            if let existing = grad {
                let d = existing.pointer
                Parallel.forRanges(n, grain: Kernels.parallelGrain) { r in
                    var i = r.lowerBound
                    while i + 8 <= r.upperBound {
                        store8(load8(d + i) + df(load8(x + i), load8(yp + i), load8(gp + i)), d + i)
                        i += 8
                    }
                    if i < r.upperBound {
                        let m = r.upperBound - i
                        let v = df(loadPartial(x + i, m, pad: 1), loadPartial(yp + i, m, pad: 1), loadPartial(gp + i, m))
                        for j in 0..<m { d[i + j] += v[j] }
                    }
                }
            } else {
                let fresh = Tensor(uninitialized: shape)
                Kernels.zip3(x, yp, gp, fresh.pointer, n) { x, y, g in df(x, y, g) }
                grad = fresh
            }
        }
    }
}
