// BatchNorm when a channel's mean dwarfs its spread (mean 1e4, std 1e-2): the batch statistics, the
// output, the running statistics and the gradients, against Double references and finite differences.
import Testing
import CarinaTensor
import CarinaTestSupport

@Suite struct BatchNormStabilityTests {
    /// Per-channel means, exact in Float, so x - mean is exact for every x near it.
    static let means: [Float] = [1e4, -1e4, 2e4]

    /// (N, C, H, W) values mean[c] + u with u uniform of std 1e-2 (C = 3).
    static func farFromZero(_ shape: [Int]) -> Tensor {
        let u = randomTensor(shape, -0.01 * Float(3).squareRoot(), 0.01 * Float(3).squareRoot(), stream: 7)
        let s = shape.dropFirst(2).reduce(1, *)
        let x = Tensor(uninitialized: shape)
        for i in 0..<x.count { x.pointer[i] = means[(i / s) % 3] + u.pointer[i] }
        return x
    }

    /// The values of channel `ch` of (N, C, S) data.
    static func channel(_ t: Tensor, _ ch: Int) -> [Double] {
        let (n, c) = (t.shape[0], t.shape[1]), s = t.count / (n * c)
        return (0..<n).flatMap { i in (0..<s).map { Double(t.pointer[(i * c + ch) * s + $0]) } }
    }

    static func meanAndVariance(_ v: [Double]) -> (Double, Double) {
        let m = v.reduce(0, +) / Double(v.count)
        return (m, v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count))
    }

    @Test func channelsWithMean1e4AndStd1e_2NormaliseToMean0AndStd1() throws {
        let x = Self.farFromZero([16, 3, 4, 4])
        let runningMean = Tensor.zeros([3]), runningVar = Tensor.ones([3])
        let y = try x.batchNorm(weight: nil, bias: nil, runningMean: runningMean, runningVar: runningVar,
                                training: true, eps: 1e-10)
        for ch in 0..<3 {
            let (m, v) = Self.meanAndVariance(Self.channel(x, ch))
            #expect(v > 0.5e-4 && v < 2e-4, "the data itself has std \(v.squareRoot())")
            let out = Self.channel(y, ch)
            let (outMean, outVar) = Self.meanAndVariance(out)
            #expect(abs(outMean) < 1e-4, "channel \(ch): normalised mean \(outMean)")
            #expect(abs(outVar.squareRoot() - 1) < 1e-4, "channel \(ch): normalised std \(outVar.squareRoot())")
            let reference = Self.channel(x, ch).map { ($0 - m) / (v + 1e-10).squareRoot() }
            let worst = zip(out, reference).map { abs($0 - $1) }.max()!
            #expect(worst < 1e-4, "channel \(ch): largest difference from the Double reference \(worst)")
            // PyTorch's update: momentum 0.1, unbiased variance.
            let count = Double(out.count)
            #expect(abs(Double(runningMean.pointer[ch]) - 0.1 * m) <= 1e-6 * abs(m))
            let expectedVar = 0.9 + 0.1 * v * count / (count - 1)
            #expect(abs(Double(runningVar.pointer[ch]) - expectedVar) < 1e-7, "channel \(ch): running var \(runningVar.pointer[ch]) vs \(expectedVar)")
        }
    }

    /// BatchNorm ignores a per-channel shift and scale (with eps scaled alike), so at x = mean + z / 128
    /// the gradients are those at z (checked against finite differences), times 128 for the input.
    @Test func gradientsAtMean1e4EqualThoseOfTheCentredInput() throws {
        let shape = [6, 3, 2, 2]
        let x = Self.farFromZero(shape)
        let z = Tensor(uninitialized: shape)  // exact: x - mean is exact, and so is * 128
        for i in 0..<x.count { z.pointer[i] = (x.pointer[i] - Self.means[(i / 4) % 3]) * 128 }
        let eps: Float = 1e-10
        let upstream = randomTensor(shape, -1, 1, stream: 99)
        func gradients(_ input: Tensor, eps: Float) throws -> (dx: [Float], dw: [Float], db: [Float]) {
            let w = randomTensor([3], 0.5, 1.5, stream: 2), b = randomTensor([3], stream: 3)
            for t in [input, w, b] { t.requiresGrad = true; t.grad = nil }
            let y = try input.batchNorm(weight: w, bias: b, runningMean: .zeros([3]), runningVar: .ones([3]), training: true, eps: eps)
            try y.backward(upstream)
            return (input.grad!.scalars, w.grad!.scalars, b.grad!.scalars)
        }
        let far = try gradients(x, eps: eps), centred = try gradients(z, eps: eps * 128 * 128)
        func close(_ a: [Float], _ b: [Float], _ what: String) {
            let scale = b.map(abs).max()!
            let worst = zip(a, b).map { abs($0 - $1) }.max()!
            #expect(worst <= 1e-3 * scale, "\(what): largest difference \(worst) of \(scale)\n\(a)\n\(b)")
        }
        close(far.dx, centred.dx.map { $0 * 128 }, "input gradient")
        close(far.dw, centred.dw, "weight gradient")
        close(far.db, centred.db, "bias gradient")
        try checkGradients([z, randomTensor([3], 0.5, 1.5, stream: 2), randomTensor([3], stream: 3)], rtol: 3e-2) { t in
            try t[0].batchNorm(weight: t[1], bias: t[2], runningMean: .zeros([3]), runningVar: .ones([3]), training: true, eps: eps * 128 * 128)
        }
    }
}
