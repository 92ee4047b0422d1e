// Vectorised transcendental functions on SIMD8<Float> (8 lanes = one AVX2 register), after Cephes.
// Integer<->float conversions use the 1.5*2^23 "magic number" trick so nothing falls back to scalar code.
// Accuracy: exp, log ~1-2 ulp over the normal range; erf abs error < 2e-7 (Abramowitz-Stegun 7.1.26).

public typealias F8 = SIMD8<Float>
public typealias I8 = SIMD8<Int32>

@inline(__always) public func load8(_ p: UnsafePointer<Float>) -> F8 {
    UnsafeRawPointer(p).loadUnaligned(as: F8.self)
}

@inline(__always) public func load8(_ p: UnsafeMutablePointer<Float>) -> F8 {
    UnsafeRawPointer(p).loadUnaligned(as: F8.self)
}

@inline(__always) public func store8(_ v: F8, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: F8.self)
}

/// Loads the `n` < 8 remaining floats, padding with `pad`.
@inline(__always) public func loadPartial(_ p: UnsafePointer<Float>, _ n: Int, pad: Float = 0) -> F8 {
    var v = F8(repeating: pad)
    for i in 0..<n { v[i] = p[i] }
    return v
}

@inline(__always) public func storePartial(_ v: F8, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { p[i] = v[i] }
}

@inline(__always) @usableFromInline func bitsToFloat(_ v: I8) -> F8 { unsafeBitCast(v, to: F8.self) }
@inline(__always) @usableFromInline func floatToBits(_ v: F8) -> I8 { unsafeBitCast(v, to: I8.self) }

public enum SIMDMath {
    /// Lane-wise max, min and clamp as a compare and a blend each. Swift's generic `pointwiseMax` /
    /// `clamped` are not lowered to vector instructions here: through GELU's exp they took ~10% of a CLIP
    /// training step. A NaN lane of the first argument stays NaN (it is never silently clamped away).
    @inline(__always) public static func maximum(_ a: F8, _ b: F8) -> F8 { a.replacing(with: b, where: a .< b) }
    @inline(__always) public static func minimum(_ a: F8, _ b: F8) -> F8 { a.replacing(with: b, where: a .> b) }
    @inline(__always) public static func clamp(_ x: F8, _ lo: Float, _ hi: Float) -> F8 {
        x.replacing(with: lo, where: x .< lo).replacing(with: hi, where: x .> hi)
    }

    /// 1.5 · 2^23. A computed property, not a stored `static let`: a lazily initialised global made every
    /// exp and log call through `swift_once` and kept them out of line (a quarter of attention's forward
    /// went to the call, spills and the once-check; perf).
    @inline(__always) @usableFromInline static var magic: F8 { F8(repeating: 12_582_912.0) }

    /// e^x. Inputs below -87.3 (and -inf) give exactly 0; above 88.7 give ~3.4e38 (no inf).
    /// Transparent: with `@inline(__always)` alone the optimizer still called it out of line from the
    /// softmax, GELU and cross-entropy loops (a call, spills and vzeroupper per 8 floats).
    @_transparent public static func exp(_ xIn: F8) -> F8 {
        let (y, ni) = expReduced(clamp(xIn, -87.33654, 88.72283))
        // 2^n; n in [-126, 128]. Split so 2^128 does not overflow the exponent field.
        let half = ni &>> 1
        let p1 = bitsToFloat((half &+ 127) &<< 23)
        let p2 = bitsToFloat((ni &- half &+ 127) &<< 23)
        return (y * p1 * p2).replacing(with: 0, where: xIn .< -87.33654)
    }

    /// The part of e^x both exps share: n = round(x / ln 2) (computed with the magic number so it is also
    /// available as an integer) and the polynomial y ≈ e^(x - n ln 2), so that e^x = y · 2^n.
    @_transparent @usableFromInline static func expReduced(_ x0: F8) -> (y: F8, n: I8) {
        let t = x0 * 1.442_695_04 + magic
        let n = t - magic
        let ni = floatToBits(t) &- floatToBits(magic)
        var x = x0 - n * 0.693_359_375
        x = x - n * -2.121_944_4e-4
        let z = x * x
        var y = F8(repeating: 1.987_569_15e-4)
        y = y * x + 1.398_199_950_7e-3
        y = y * x + 8.333_451_907_3e-3
        y = y * x + 4.166_579_589_4e-2
        y = y * x + 1.666_666_545_9e-1
        y = y * x + 5.000_000_120_1e-1
        y = y * z + x + 1
        return (y, ni)
    }

    /// e^x for x <= 0, -inf or NaN (a softmax's x - max): the same bits as `exp` on those inputs, without
    /// `exp`'s steps these inputs do not need. No clamps: above, x <= 0 never reaches the upper bound;
    /// below, every lane under the underflow bound is set to 0 at the end whatever was computed for it
    /// (lanes at -inf compute NaN there). And 2^n in one piece: n = round(x / ln 2) lies in [-126, 0] for the
    /// lanes that are kept, so 2^n is one normal float and y · 2^n rounds once, as exp's y · 2^(n/2) ·
    /// 2^(n - n/2) does (its first product is exact). A quarter of exp's vector operations fewer; the
    /// softmaxes, cross-entropy, erf and GELU's density use it (attention's softmax spends most of its time here).
    @_transparent public static func expOfNonPositive(_ x: F8) -> F8 {
        let (y, ni) = expReduced(x)
        return (y * bitsToFloat((ni &+ 127) &<< 23)).replacing(with: 0, where: x .< -87.33654)
    }

    /// Natural log for x > 0 (x <= 0 gives a large negative number, not NaN; callers clamp).
    @_transparent public static func log(_ xIn: F8) -> F8 {  // transparent: see exp
        let tiny = F8(repeating: Float.leastNormalMagnitude)
        let x0 = xIn.replacing(with: tiny, where: xIn .< tiny)
        let bits = floatToBits(x0)
        // exponent e with x = m * 2^e, m in [0.5, 1)
        let eInt = (bits &>> 23) &- 126
        var e = bitsToFloat(eInt &+ floatToBits(magic)) - magic
        var m = bitsToFloat((bits & 0x007F_FFFF) | 0x3F00_0000)
        let small = m .< 0.707_106_781_186_547_524
        e = e - F8(repeating: 1).replacing(with: 0, where: .!small)
        m = m.replacing(with: m + m, where: small) - 1
        let z = m * m
        var y = F8(repeating: 7.037_683_629_2e-2)
        y = y * m - 1.151_461_031_0e-1
        y = y * m + 1.167_699_874_0e-1
        y = y * m - 1.242_014_084_6e-1
        y = y * m + 1.424_932_278_7e-1
        y = y * m - 1.666_805_766_5e-1
        y = y * m + 2.000_071_476_5e-1
        y = y * m - 2.499_999_399_3e-1
        y = y * m + 3.333_333_117_4e-1
        y = y * m * z
        y = y + e * -2.121_944_4e-4
        y = y - 0.5 * z
        return m + y + e * 0.693_359_375
    }

    @inline(__always) public static func sigmoid(_ x: F8) -> F8 {
        1 / (1 + exp(-x))
    }

    /// tanh through the sigmoid: tanh x = 2 sigma(2x) - 1 (abs error ~1e-7 near 0).
    @inline(__always) public static func tanh(_ x: F8) -> F8 {
        2 / (1 + exp(-2 * x)) - 1
    }

    /// erf(x), Abramowitz-Stegun 7.1.26 (abs error < 1.5e-7 in exact arithmetic).
    @_transparent public static func erf(_ x: F8) -> F8 {  // transparent: see exp
        let a = abs(x)
        let t = 1 / (1 + 0.327_591_1 * a)
        var y = F8(repeating: 1.061_405_429)
        y = y * t - 1.453_152_027
        y = y * t + 1.421_413_741
        y = y * t - 0.284_496_736
        y = y * t + 0.254_829_592
        y = 1 - y * t * expOfNonPositive(-a * a)
        return y.replacing(with: -y, where: x .< 0)
    }

    /// Horizontal sum of the 8 lanes.
    @inline(__always) public static func sum(_ v: F8) -> Float {
        let h = v.lowHalf + v.highHalf
        let q = h.lowHalf + h.highHalf
        return q[0] + q[1]
    }

    @inline(__always) public static func max(_ v: F8) -> Float {
        let h = v.lowHalf.replacing(with: v.highHalf, where: v.lowHalf .< v.highHalf)
        let q = h.lowHalf.replacing(with: h.highHalf, where: h.lowHalf .< h.highHalf)
        return Swift.max(q[0], q[1])
    }
}

@inline(__always) @usableFromInline func abs(_ v: F8) -> F8 {
    bitsToFloat(floatToBits(v) & 0x7FFF_FFFF)
}

/// Scalar versions through the SIMD path, so scalar tails and vector bodies agree bit for bit.
public enum ScalarMath {
    @inline(__always) public static func exp(_ x: Float) -> Float { SIMDMath.exp(F8(repeating: x))[0] }
    @inline(__always) public static func log(_ x: Float) -> Float { SIMDMath.log(F8(repeating: x))[0] }
    @inline(__always) public static func erf(_ x: Float) -> Float { SIMDMath.erf(F8(repeating: x))[0] }
}
