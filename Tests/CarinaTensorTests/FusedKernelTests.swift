// Fused kernels against the same computation composed from primitive ops (or a scalar reference),
// forward and backward: LayerNorm, softmax / log-softmax, GELU, cross-entropy, attention.
import Foundation
import Testing
@testable import CarinaTensor
import CarinaTestSupport

@Suite struct FusedKernelTests {
    func expectClose(_ a: ([Float], [[Float]]), _ b: ([Float], [[Float]]), tol: Float = 1e-4,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        func maxDiff(_ x: [Float], _ y: [Float]) -> Float { zip(x, y).map { abs($0 - $1) }.max() ?? 0 }
        #expect(a.0.count == b.0.count, sourceLocation: sourceLocation)
        #expect(maxDiff(a.0, b.0) < tol, "forward differs", sourceLocation: sourceLocation)
        for (ga, gb) in zip(a.1, b.1) { #expect(maxDiff(ga, gb) < tol, "gradient differs", sourceLocation: sourceLocation) }
    }

    @Test(arguments: [[4, 8], [3, 5, 192], [2, 1]]) func layerNormFusedEqualsComposed(_ shape: [Int]) throws {
        let c = shape.last!
        let inputs = [randomTensor(shape, -2, 2), randomTensor([c], 0.5, 1.5, stream: 2), randomTensor([c], stream: 3)]
        let fused = try valuesAndGradients(inputs) { try $0[0].layerNorm(weight: $0[1], bias: $0[2], eps: 1e-5) }
        let composed = try valuesAndGradients(inputs) { t in
            let mean = try t[0].mean(axis: -1, keepDims: true)
            let centered = try t[0] - mean
            let variance = try centered.square().mean(axis: -1, keepDims: true)
            return try centered / (variance + 1e-5).sqrt() * t[1] + t[2]
        }
        expectClose(fused, composed)
    }

    @Test(arguments: [[3, 7], [2, 4, 65], [5, 1]]) func softmaxFusedEqualsComposed(_ shape: [Int]) throws {
        let inputs = [randomTensor(shape, -5, 5)]
        let composedSoftmax = try valuesAndGradients(inputs) { t in
            let e = try (t[0] - t[0].max(axis: -1, keepDims: true).detached()).exp()
            return try e / e.sum(axis: -1, keepDims: true)
        }
        expectClose(try valuesAndGradients(inputs) { try $0[0].softmax() }, composedSoftmax)
        let composedLog = try valuesAndGradients(inputs) { t in try t[0] - t[0].logSumExp(axis: -1, keepDims: true) }
        expectClose(try valuesAndGradients(inputs) { try $0[0].logSoftmax() }, composedLog)
    }

    @Test func softmaxIsStableForHugeLogits() throws {
        let y = try Tensor(shape: [1, 3], values: [1000, 1000, -1000]).softmax()
        #expect(y.scalars == [0.5, 0.5, 0])
        let ls = try Tensor(shape: [1, 2], values: [1e4, 0]).logSoftmax()
        #expect(ls.scalars[0] == 0 && ls.scalars[1] == -1e4)
    }

    @Test func geluMatchesTheErfDefinition() throws {
        let x = Tensor(shape: [41], values: (0..<41).map { Float($0) * 0.25 - 5 })
        let y = x.gelu()
        for i in 0..<41 {
            let v = Double(x.pointer[i])
            #expect(abs(Double(y.pointer[i]) - 0.5 * v * (1 + erf(v / 2.0.squareRoot()))) < 2e-6)
        }
    }

    @Test func crossEntropyFusedEqualsLogSoftmaxAndGather() throws {
        let targets: [Int32] = [3, 0, -100, 2, 2]
        let inputs = [randomTensor([5, 4], -3, 3)]
        let fused = try valuesAndGradients(inputs) { try $0[0].crossEntropy(targets: targets) }
        let composed = try valuesAndGradients(inputs) { t in
            let kept = targets.enumerated().filter { $0.element != -100 }
            let picked = try t[0].logSoftmax().gather(axis: 1, IndexTensor(shape: [5, 1], values: targets.map { max($0, 0) }))
            let mask = Tensor(shape: [5, 1], values: targets.map { $0 == -100 ? 0 : 1 })
            return try -(picked * mask).sum() / Float(kept.count)
        }
        expectClose(fused, composed)
    }

    /// Head sizes 4 (OpenBLAS for the (T, D) products), 8, 16 and 24 (SmallGEMM's 8-wide, 16-wide and mixed
    /// tiles); 5, 13 and 65 tokens (row tails of 5, 1 and 5 past the 6-row blocks, Tk padded to 8, 16, 72).
    static let attentionShapes: [(b: Int, t: Int, c: Int, h: Int)] = [(2, 5, 8, 2), (2, 13, 16, 2), (2, 13, 64, 4), (1, 65, 48, 2), (2, 5, 48, 3)]

    @Test(arguments: [false, true], 0..<5) func attentionFusedEqualsComposed(_ causal: Bool, _ shape: Int) throws {
        let (b, t, c, h) = Self.attentionShapes[shape]
        let pad = Tensor(shape: [b, t], values: (0..<(b * t)).map { $0 == t - 1 ? 0 : 1 })  // sample 0's last key is padding
        let inputs = [randomTensor([b, t, c], stream: 1), randomTensor([b, t, c], stream: 2), randomTensor([b, t, c], stream: 3)]
        let fused = try valuesAndGradients(inputs) { x in try Tensor.attention(q: x[0], k: x[1], v: x[2], heads: h, keyPadding: pad, causal: causal) }
        let composed = try valuesAndGradients(inputs) { x in
            func heads(_ y: Tensor) throws -> Tensor { try y.reshaped([b, t, h, c / h]).permuted([0, 2, 1, 3]) }  // (B, H, T, D)
            let scores = try heads(x[0]).matmul(heads(x[1]), transposeOther: true) / Float(c / h).squareRoot()  // (B, H, T, T)
            var blocked = [Float](repeating: 0, count: b * t * t)
            for s in 0..<b { for i in 0..<t { for j in 0..<t where pad[s, j] == 0 || (causal && j > i) { blocked[(s * t + i) * t + j] = 1 } } }
            let masked = try scores.maskedFill(Tensor(shape: [b, 1, t, t], values: blocked), -1e9)
            return try masked.softmax().matmul(heads(x[2])).permuted([0, 2, 1, 3]).reshaped([b, t, c])
        }
        expectClose(fused, composed)
    }

    /// The backward pass overwrites a new gradient buffer that the operands cover once and adds otherwise:
    /// one tensor as queries and keys (same columns), gradient already there from a later op, head sizes
    /// on both kernels.
    @Test(arguments: [(5, 8), (13, 32)]) func attentionGradientsAddWhereTheBufferIsSharedOrAlreadyHoldsGradient(_ t: Int, _ c: Int) throws {
        let (b, h) = (2, 2)
        let inputs = [randomTensor([b, t, c], stream: 11), randomTensor([b, t, c], stream: 12)]
        func composed(_ q: Tensor, _ k: Tensor, _ v: Tensor) throws -> Tensor {
            func heads(_ y: Tensor) throws -> Tensor { try y.reshaped([b, t, h, c / h]).permuted([0, 2, 1, 3]) }
            let scores = try heads(q).matmul(heads(k), transposeOther: true) / Float(c / h).squareRoot()
            return try scores.softmax().matmul(heads(v)).permuted([0, 2, 1, 3]).reshaped([b, t, c])
        }
        let fused = try valuesAndGradients(inputs) { x in try Tensor.attention(q: x[0], k: x[0], v: x[1], heads: h) + x[1] * 2 }
        let reference = try valuesAndGradients(inputs) { x in try composed(x[0], x[0], x[1]) + x[1] * 2 }
        expectClose(fused, reference)
        // The fused q/k/v of self-attention, its gradient new, next to the same with gradient already there.
        let qkv = randomTensor([b, t, 3 * c], stream: 13)
        let alone = try valuesAndGradients([qkv]) { x in try Tensor.selfAttention(qkv: x[0], heads: h) }
        let added = try valuesAndGradients([qkv]) { x in try Tensor.selfAttention(qkv: x[0], heads: h) + x[0].slice(axis: 2, 0, c) * 0 }
        expectClose(alone, added, tol: 1e-6)
    }

    @Test(arguments: [(5, 8), (13, 32)]) func attentionDropoutIsTheComposedAttentionWithTheSameKeyedMask(_ tokens: Int, _ channels: Int) throws {
        let (b, t, c, h, p): (Int, Int, Int, Int, Float) = (2, tokens, channels, 2, 0.3)
        let pad = Tensor(shape: [b, t], values: (0..<(b * t)).map { $0 == t - 1 ? 0 : 1 })
        let key = RandomKey(seed: 5, stream: 9, firstRow: 3)
        let dropout = AttentionDropout(probability: p, key: key)
        // Sample s's mask (heads, queries, keys) comes from key.rng(row: s).
        let mask = Tensor.rowDraws([b, h, t, t], key: key) { g in g.uniform() < p ? 0 : 1 / (1 - p) }
        #expect(mask.scalars.contains(0) && mask.scalars.contains(1 / (1 - p)))
        let inputs = [randomTensor([b, t, c], stream: 1), randomTensor([b, t, c], stream: 2), randomTensor([b, t, c], stream: 3)]
        let fused = try valuesAndGradients(inputs) { x in try Tensor.attention(q: x[0], k: x[1], v: x[2], heads: h, keyPadding: pad, dropout: dropout) }
        let composed = try valuesAndGradients(inputs) { x in
            func heads(_ y: Tensor) throws -> Tensor { try y.reshaped([b, t, h, c / h]).permuted([0, 2, 1, 3]) }
            let scores = try heads(x[0]).matmul(heads(x[1]), transposeOther: true) / Float(c / h).squareRoot()
            var blocked = [Float](repeating: 0, count: b * t * t)
            for s in 0..<b { for i in 0..<t { for j in 0..<t where pad[s, j] == 0 { blocked[(s * t + i) * t + j] = 1 } } }
            let masked = try scores.maskedFill(Tensor(shape: [b, 1, t, t], values: blocked), -1e9)
            return try (masked.softmax() * mask).matmul(heads(x[2])).permuted([0, 2, 1, 3]).reshaped([b, t, c])
        }
        expectClose(fused, composed)
        // Keyed by sample: sample 1 alone, at global row 4, is dropped exactly as in the pair.
        let alone = try Tensor.attention(q: inputs[0].slice(axis: 0, 1, 2), k: inputs[1].slice(axis: 0, 1, 2), v: inputs[2].slice(axis: 0, 1, 2), heads: h,
                                         keyPadding: pad.slice(axis: 0, 1, 2), dropout: AttentionDropout(probability: p, key: RandomKey(seed: 5, stream: 9, firstRow: 4)))
        #expect(alone.scalars == Array(fused.0[(t * c)...]))
        // p = 0 is plain attention.
        let plain = try Tensor.attention(q: inputs[0], k: inputs[1], v: inputs[2], heads: h, keyPadding: pad)
        let zero = try Tensor.attention(q: inputs[0], k: inputs[1], v: inputs[2], heads: h, keyPadding: pad, dropout: AttentionDropout(probability: 0, key: key))
        #expect(plain.scalars == zero.scalars)
        #expect(throws: TensorError.self) { try Tensor.attention(q: inputs[0], k: inputs[1], v: inputs[2], heads: h, dropout: AttentionDropout(probability: 1, key: key)) }
    }
}

/// The vector max / min / clamp behind exp, relu, clamp, maximum and row maxima: exact values at the
/// bounds and ties, and a NaN input stays NaN (a diverging run must not be clamped back to finite numbers).
@Suite struct LaneMinMaxTests {
    @Test func maximumMinimumClampAndNaN() throws {
        let x = Tensor(shape: [9], values: [-3, -0.5, 0, 0.5, 3, .nan, -.infinity, .infinity, 2])
        let r = x.relu().scalars
        #expect(Array(r[0..<5]) == [0, 0, 0, 0.5, 3] && r[5].isNaN && r[6] == 0 && r[7] == .infinity && r[8] == 2)
        let c = x.clamped(min: -1, max: 1).scalars
        #expect(Array(c[0..<5]) == [-1, -0.5, 0, 0.5, 1] && c[5].isNaN && c[6] == -1 && c[7] == 1 && c[8] == 1)
        let e = x.exp().scalars
        #expect(e[5].isNaN && e[6] == 0 && e[2] == 1 && abs(e[4] - Foundation.exp(3)) < 1e-4 * Foundation.exp(3))
        let y = Tensor(shape: [9], values: [0, 0, 0, 0, 0, 0, 0, 0, 2])
        let mx = try Tensor.maximum(x, y).scalars, mn = try Tensor.minimum(x, y).scalars
        #expect(Array(mx[0..<5]) == [0, 0, 0, 0.5, 3] && mx[5].isNaN && mx[8] == 2)
        #expect(Array(mn[0..<5]) == [-3, -0.5, 0, 0, 0] && mn[5].isNaN && mn[6] == -.infinity)
        // Row maxima (softmax's shift) over lengths that are not a multiple of the vector width.
        for n in [1, 7, 8, 9, 17] {
            let v = (0..<n).map { Float(($0 * 37) % 11) - 5 }
            #expect(Kernels.maxSerial(v, n) == v.max()!, "n \(n)")
        }
    }

    /// The exp for x <= 0 (softmaxes, cross-entropy, erf, GELU's density) gives `exp`'s bits on every input
    /// it can be handed: every 61st float from -0 to -88 and every 4099th on to -inf, every float near the
    /// underflow bound (-87.34), near each exponent step 2^n (x = n ln 2 ± 200 ulps for n = 0...-126),
    /// subnormals, ±0, -inf and NaNs.
    @Test func expOfNonPositiveHasExpsBits() {
        var inputs: [Float] = [0, -0, -.infinity, .nan, -.nan, Float(bitPattern: 0xFFC0_1234), -.leastNonzeroMagnitude,
                               -.leastNormalMagnitude, -1e-30, -87.33654, -87.336_55, -88, -103, -1e30, -.greatestFiniteMagnitude]
        var bits: UInt32 = 0x8000_0000
        while bits < 0xC2B0_0000 { inputs.append(Float(bitPattern: bits)); bits += 61 }
        while bits <= 0xFF80_0000 { inputs.append(Float(bitPattern: bits)); bits += 4099 }  // on down to -inf
        let bound = (-87.33654 as Float).bitPattern
        for b in (bound - 4000)...(bound + 4000) { inputs.append(Float(bitPattern: b)) }
        for n in 0...126 {
            let x = -Float(n) * 0.693_147_2
            for b in (x.bitPattern &- 200)...(x.bitPattern &+ 200) where Float(bitPattern: b) <= 0 { inputs.append(Float(bitPattern: b)) }
        }
        while inputs.count % 8 != 0 { inputs.append(-1) }
        var differing: [Float] = []
        inputs.withUnsafeBufferPointer { x in
            for i in stride(from: 0, to: x.count, by: 8) {
                let v = load8(x.baseAddress! + i)
                let e = SIMDMath.exp(v), f = SIMDMath.expOfNonPositive(v)
                for l in 0..<8 where e[l].bitPattern != f[l].bitPattern { differing.append(v[l]) }
            }
        }
        let (failures, tried) = (differing.count, inputs.count)
        #expect(failures == 0, "\(failures) of \(tried) inputs differ, e.g. \(differing.prefix(5))")
        #expect(tried > 1_000_000)
    }

    /// Attention's softmax over padded rows gives `Kernels.softmaxRows`' bits: row widths below, at and past
    /// a vector with and without a partial last vector, masked keys (-inf), a fully masked row (zeros), a
    /// NaN, causal masks and small and large scores; the padding stays zero.
    @Test(arguments: [(1, 1), (2, 5), (3, 8), (5, 13), (65, 65), (4, 16)], [false, true])
    func paddedSoftmaxHasTheRowSoftmaxBits(_ shape: (rows: Int, n: Int), _ causal: Bool) {
        let (rows, n) = shape
        let ld = (n + 7) / 8 * 8
        for scale: Float in [0.05, 1, 40] {
            let source = randomTensor([rows, n], -scale, scale, stream: n)
            var x = [Float](repeating: 0, count: rows * ld)
            for i in 0..<rows { for j in 0..<n { x[i * ld + j] = causal && j > i ? -.infinity : source.pointer[i * n + j] } }
            if n > 2 { x[0 * ld + 1] = -.infinity }  // a masked key
            if rows > 2 && !causal { for j in 0..<n { x[1 * ld + j] = -.infinity } }  // a fully masked row
            if rows > 3 { x[3 * ld + n - 1] = .nan }
            var expected = x
            expected.withUnsafeMutableBufferPointer { e in Kernels.softmaxRows(e.baseAddress!, e.baseAddress!, rows: rows, n: n, log: false, ld: ld) }
            x.withUnsafeMutableBufferPointer { softmaxPaddedRows($0.baseAddress!, rows: rows, n: n, ld: ld) }
            let differing = zip(x, expected).filter { $0.0.bitPattern != $0.1.bitPattern && !($0.0.isNaN && $0.1.isNaN) }.count
            #expect(differing == 0, "\(rows) rows of \(n), scores within ±\(scale), causal \(causal): \(differing) values differ from softmaxRows")
            let padding = (0..<rows).flatMap { i in (n..<ld).map { x[i * ld + $0] } }
            #expect(padding.allSatisfy { $0 == 0 && $0.sign == .plus }, "padding \(padding)")
        }
    }
}
