// Sums for per-channel statistics accumulated in Double (BatchNorm): plain sums, squared deviations from
// a given mean and products with deviations from it, so a variance survives |mean| ≫ std.
// Not for: Float reductions on the hot path (Elementwise.swift).

extension Kernels {
    /// Σ x[i], in Double (2 × 4 lanes, then the tail in order).
    public static func sumInDouble(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
        var a0 = SIMD4<Double>(), a1 = SIMD4<Double>()
        var i = 0
        while i + 8 <= n {
            let v = load8(x + i)
            a0 += SIMD4<Double>(v.lowHalf)
            a1 += SIMD4<Double>(v.highHalf)
            i += 8
        }
        var total = (a0 + a1).sum()
        while i < n { total += Double(x[i]); i += 1 }
        return total
    }

    /// Σ (x[i] - mean)², in Double.
    public static func sumOfSquaredDeviations(_ x: UnsafePointer<Float>, _ n: Int, from mean: Double) -> Double {
        let m = SIMD4<Double>(repeating: mean)
        var a0 = SIMD4<Double>(), a1 = SIMD4<Double>()
        var i = 0
        while i + 8 <= n {
            let v = load8(x + i)
            let d0 = SIMD4<Double>(v.lowHalf) - m, d1 = SIMD4<Double>(v.highHalf) - m
            a0 = a0.addingProduct(d0, d0)
            a1 = a1.addingProduct(d1, d1)
            i += 8
        }
        var total = (a0 + a1).sum()
        while i < n { let d = Double(x[i]) - mean; total += d * d; i += 1 }
        return total
    }

    /// Σ g[i] (x[i] - mean), in Double.
    public static func dotWithDeviations(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int, from mean: Double) -> Double {
        let m = SIMD4<Double>(repeating: mean)
        var a0 = SIMD4<Double>(), a1 = SIMD4<Double>()
        var i = 0
        while i + 8 <= n {
            let v = load8(x + i), w = load8(g + i)
            a0 = a0.addingProduct(SIMD4<Double>(w.lowHalf), SIMD4<Double>(v.lowHalf) - m)
            a1 = a1.addingProduct(SIMD4<Double>(w.highHalf), SIMD4<Double>(v.highHalf) - m)
            i += 8
        }
        var total = (a0 + a1).sum()
        while i < n { total += Double(g[i]) * (Double(x[i]) - mean); i += 1 }
        return total
    }
}
