// One gradient check per op against central finite differences, over shapes with broadcasting and
// size-1 edge cases (tinygrad style: one line per op).
import Testing
@testable import CarinaTensor
import CarinaTestSupport

@Suite struct OpGradientTests {
    static let broadcastPairs: [([Int], [Int])] = [
        ([3, 4], [3, 4]), ([3, 4], [4]), ([3, 1], [1, 4]), ([2, 3, 4], [3, 1]), ([1], [5]), ([], [2, 3]), ([2, 1, 3], [2, 4, 1]),
    ]

    /// backward(seed) hands the seed itself to the output's op when nothing else can see the output's
    /// gradient (no copy); a retained gradient, or a leaf's, is a copy of its own. The seed is never changed,
    /// and a graph kept for a second pass adds the same gradient again.
    @Test func aSeedIsHandedOnOnlyWhereNothingElseSeesIt() throws {
        let x = randomTensor([3, 5], stream: 1)
        x.requiresGrad = true
        let seed = randomTensor([3, 5], stream: 2), seedValues = seed.scalars
        let y = try x * x
        try y.backward(seed, retainGraph: true)
        let once = x.grad!.scalars
        #expect(once == zip(x.scalars, seedValues).map { 2 * $0 * $1 } && y.grad == nil)
        try y.backward(seed)
        #expect(x.grad!.scalars == once.map { 2 * $0 } && seed.scalars == seedValues)

        let z = x.exp()
        z.retainsGrad = true
        try z.backward(seed)
        #expect(z.grad!.scalars == seedValues && z.grad!.storage !== seed.storage)
        x.grad = nil
        try x.backward(seed)
        #expect(x.grad!.scalars == seedValues && x.grad!.storage !== seed.storage)
    }

    @Test(arguments: broadcastPairs) func add(_ a: [Int], _ b: [Int]) throws {
        try checkGradients([randomTensor(a, stream: 1), randomTensor(b, stream: 2)]) { try $0[0] + $0[1] }
    }

    @Test(arguments: broadcastPairs) func sub(_ a: [Int], _ b: [Int]) throws {
        try checkGradients([randomTensor(a, stream: 1), randomTensor(b, stream: 2)]) { try $0[0] - $0[1] }
    }

    @Test(arguments: broadcastPairs) func mul(_ a: [Int], _ b: [Int]) throws {
        try checkGradients([randomTensor(a, stream: 1), randomTensor(b, stream: 2)]) { try $0[0] * $0[1] }
    }

    @Test(arguments: broadcastPairs) func div(_ a: [Int], _ b: [Int]) throws {
        try checkGradients([randomTensor(a, stream: 1), randomTensor(b, 0.5, 2, stream: 2)]) { try $0[0] / $0[1] }
    }

    @Test func maximumAndMinimum() throws {
        try checkGradients([randomTensor([3, 5], stream: 1), randomTensor([5], stream: 2)]) { try Tensor.maximum($0[0], $0[1]) }
        try checkGradients([randomTensor([3, 5], stream: 1), randomTensor([3, 1], stream: 2)]) { try Tensor.minimum($0[0], $0[1]) }
    }

    @Test func scalarArithmetic() throws {
        try checkGradients([randomTensor([4, 3])]) { x in try ((2 * x[0] + 1) - 3) / 4 - x[0] * 0.5 }
    }

    @Test(arguments: [[7], [2, 3, 5], [1], [33]]) func unary(_ shape: [Int]) throws {
        try checkGradients([randomTensor(shape, stream: 3)]) { $0[0].exp() }
        try checkGradients([randomTensor(shape, 0.2, 2, stream: 3)]) { $0[0].log() }
        try checkGradients([randomTensor(shape, 0.2, 2, stream: 3)]) { $0[0].sqrt() }
        try checkGradients([randomTensor(shape, -3, 3, stream: 3)]) { $0[0].tanh() }
        try checkGradients([randomTensor(shape, -3, 3, stream: 3)]) { $0[0].sigmoid() }
        try checkGradients([randomTensor(shape, -3, 3, stream: 3)]) { $0[0].gelu() }
        try checkGradients([randomTensor(shape, -3, 3, stream: 3)]) { $0[0].quickGELU() }
        try checkGradients([randomTensor(shape, -3, 3, stream: 3)]) { $0[0].square() }
        try checkGradients([randomTensor(shape, 0.3, 2, stream: 3)]) { $0[0].pow(1.7) }
    }

    @Test func kinkedUnaryAwayFromKinks() throws {
        // Values at least 0.05 from 0 (relu, abs) and from the clamp bounds.
        let x = Tensor(shape: [8], values: [-1.2, -0.5, -0.1, 0.1, 0.3, 0.7, 1.4, 2.0])
        try checkGradients([x.copy()]) { $0[0].relu() }
        try checkGradients([x.copy()]) { $0[0].abs() }
        try checkGradients([x.copy()]) { $0[0].clamped(min: -0.3, max: 1.0) }
    }

    @Test(arguments: [[4, 5], [2, 3, 4], [1, 6], [5, 1]]) func reductions(_ shape: [Int]) throws {
        try checkGradients([randomTensor(shape)]) { try $0[0].sum() }
        try checkGradients([randomTensor(shape)]) { try $0[0].sum(axis: 0, keepDims: true) }
        try checkGradients([randomTensor(shape)]) { try $0[0].mean(axis: -1) }
        try checkGradients([randomTensor(shape)]) { try $0[0].mean(axes: [0, shape.count - 1]) }
        try checkGradients([randomTensor(shape)]) { try $0[0].max(axis: -1) }
        try checkGradients([randomTensor(shape)]) { try $0[0].logSumExp(axis: 0) }
    }

    @Test func shapeOps() throws {
        try checkGradients([randomTensor([2, 3, 4])]) { try $0[0].reshaped([4, -1]) * $0[0].reshaped([4, 6]) }
        try checkGradients([randomTensor([2, 3, 4])]) { try $0[0].permuted([2, 0, 1]) }
        try checkGradients([randomTensor([2, 3, 4])]) { try $0[0].transposed(0, 1) }
        try checkGradients([randomTensor([4, 3])]) { try $0[0].slice(axis: 0, 1, 3) }
        try checkGradients([randomTensor([2, 5, 3])]) { try $0[0].slice(axis: 1, 2, 5) }
        try checkGradients([randomTensor([2, 3]), randomTensor([2, 1], stream: 5)]) { try Tensor.concat([$0[0], $0[1], $0[0]], axis: 1) }
        try checkGradients([randomTensor([2, 3]), randomTensor([2, 3], stream: 5)]) { try Tensor.stack([$0[0], $0[1]], axis: 1) }
        try checkGradients([randomTensor([3, 1])]) { try $0[0].expanded(to: [2, 3, 4]) }
    }

    @Test func indexing() throws {
        try checkGradients([randomTensor([5, 3])]) { try $0[0].indexSelect(axis: 0, [4, 0, 4, 2]) }
        try checkGradients([randomTensor([2, 5])]) { try $0[0].indexSelect(axis: 1, [1, 1, 3]) }
        let index = IndexTensor(shape: [2, 3], values: [0, 4, 4, 1, 2, 0])
        try checkGradients([randomTensor([2, 5])]) { try $0[0].gather(axis: 1, index) }
        try checkGradients([randomTensor([2, 5]), randomTensor([2, 3], stream: 7)]) { try $0[0].scatterAdd(axis: 1, index, $0[1]) }
        try checkGradients([randomTensor([6, 4])]) { try $0[0].embedding(IndexTensor(shape: [2, 3], values: [5, 0, 5, 2, 2, 1])) }
        let mask = Tensor(shape: [1, 4], values: [0, 1, 0, 1])
        try checkGradients([randomTensor([3, 4])]) { try $0[0].maskedFill(mask, -5) }
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func matmul(_ tA: Bool, _ tB: Bool) throws {
        let (m, k, n) = (3, 4, 5)
        let a = randomTensor(tA ? [k, m] : [m, k], stream: 1), b = randomTensor(tB ? [n, k] : [k, n], stream: 2)
        try checkGradients([a, b]) { try $0[0].matmul($0[1], transposeSelf: tA, transposeOther: tB) }
        // batched, B shared and B per batch
        let ab = randomTensor(tA ? [2, k, m] : [2, m, k], stream: 3)
        try checkGradients([ab, b.copy()]) { try $0[0].matmul($0[1], transposeSelf: tA, transposeOther: tB) }
        let bb = randomTensor(tB ? [2, n, k] : [2, k, n], stream: 4)
        try checkGradients([ab.copy(), bb]) { try $0[0].matmul($0[1], transposeSelf: tA, transposeOther: tB) }
    }

    @Test func linear() throws {
        try checkGradients([randomTensor([2, 3, 4]), randomTensor([5, 4], stream: 2), randomTensor([5], stream: 3)]) {
            try $0[0].linear(weight: $0[1], bias: $0[2])
        }
        try checkGradients([randomTensor([1, 4]), randomTensor([2, 4], stream: 2)]) { try $0[0].linear(weight: $0[1], bias: nil) }
    }

    @Test(arguments: [[3, 5], [2, 3, 9], [4, 1]]) func softmaxFamily(_ shape: [Int]) throws {
        try checkGradients([randomTensor(shape, -2, 2)]) { try $0[0].softmax() }
        try checkGradients([randomTensor(shape, -2, 2)]) { try $0[0].logSoftmax() }
        try checkGradients([randomTensor(shape, -2, 2)]) { try $0[0].softmax(axis: 0) }
    }

    @Test(arguments: [[3, 5], [2, 3, 16], [4, 1]]) func normalization(_ shape: [Int]) throws {
        let c = shape.last!
        try checkGradients([randomTensor(shape), randomTensor([c], 0.5, 1.5, stream: 2), randomTensor([c], stream: 3)]) {
            try $0[0].layerNorm(weight: $0[1], bias: $0[2])
        }
        try checkGradients([randomTensor(shape)]) { try $0[0].l2Normalized() }
    }

    @Test func batchNormTrainAndEval() throws {
        for shape in [[4, 3], [2, 3, 2, 2]] {
            try checkGradients([randomTensor(shape), randomTensor([3], 0.5, 1.5, stream: 2), randomTensor([3], stream: 3)], rtol: 3e-2) { x in
                try x[0].batchNorm(weight: x[1], bias: x[2], runningMean: .zeros([3]), runningVar: .ones([3]), training: true)
            }
            try checkGradients([randomTensor(shape), randomTensor([3], 0.5, 1.5, stream: 2), randomTensor([3], stream: 3)]) { x in
                try x[0].batchNorm(weight: x[1], bias: x[2], runningMean: .full([3], 0.1), runningVar: .full([3], 2), training: false)
            }
        }
    }

    @Test(arguments: [(1, 0), (2, 1), (1, 1)]) func conv2d(_ stride: Int, _ padding: Int) throws {
        try checkGradients([randomTensor([2, 3, 5, 6]), randomTensor([4, 3, 3, 3], stream: 2), randomTensor([4], stream: 3)]) {
            try $0[0].conv2d(weight: $0[1], bias: $0[2], stride: stride, padding: padding)
        }
        try checkGradients([randomTensor([2, 3, 4, 4]), randomTensor([2, 3, 1, 1], stream: 2)]) {
            try $0[0].conv2d(weight: $0[1], bias: nil, stride: stride, padding: 0)
        }
    }

    @Test func pooling() throws {
        // Distinct values so the max is unique in every window.
        let x = Tensor(shape: [1, 2, 4, 5], values: (0..<40).map { Float(($0 * 17) % 40) * 0.1 })
        try checkGradients([x]) { try $0[0].maxPool2d(kernel: 2) }
        try checkGradients([x.copy()]) { try $0[0].maxPool2d(kernel: 3, stride: 2, padding: 1) }
        try checkGradients([randomTensor([2, 2, 5, 5])]) { try $0[0].avgPool2d(kernel: 2, stride: 2) }
        try checkGradients([randomTensor([1, 2, 4, 4])]) { try $0[0].avgPool2d(kernel: 3, stride: 1, padding: 1) }
    }

    @Test func nearestUpsampling() throws {
        try checkGradients([randomTensor([2, 3, 2, 3])]) { try $0[0].upsampleNearest2d(factor: 2) }
        try checkGradients([randomTensor([1, 1, 3, 2])]) { try $0[0].upsampleNearest2d(factor: 3) }
        // Every output pixel copies its source pixel: (y, x) <- (y / f, x / f), as torch's nearest mode.
        let x = Tensor(shape: [1, 1, 2, 2], values: [1, 2, 3, 4])
        #expect(try x.upsampleNearest2d(factor: 2).scalars == [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
    }

    @Test(arguments: [false, true]) func attention(_ causal: Bool) throws {
        let (b, t, c) = (2, 5, 8)
        try checkGradients([randomTensor([b, t, c], stream: 1), randomTensor([b, t, c], stream: 2), randomTensor([b, t, c], stream: 3)]) {
            try Tensor.attention(q: $0[0], k: $0[1], v: $0[2], heads: 2, causal: causal)
        }
        let pad = Tensor(shape: [b, t], values: [1, 1, 1, 0, 0, 1, 1, 1, 1, 1])
        try checkGradients([randomTensor([b, t, 3 * c], stream: 4)]) {
            try Tensor.selfAttention(qkv: $0[0], heads: 2, keyPadding: pad, causal: causal)
        }
        // cross-attention with different query and key lengths
        try checkGradients([randomTensor([b, 3, c], stream: 5), randomTensor([b, t, c], stream: 6), randomTensor([b, t, c], stream: 7)]) {
            try Tensor.attention(q: $0[0], k: $0[1], v: $0[2], heads: 4, keyPadding: pad)
        }
        // head size 8 and 7 queries: every per-head product on the register-blocked kernel, with a row tail
        try checkGradients([randomTensor([b, 7, 16], stream: 8), randomTensor([b, t, 16], stream: 9), randomTensor([b, t, 16], stream: 10)]) {
            try Tensor.attention(q: $0[0], k: $0[1], v: $0[2], heads: 2, keyPadding: pad, causal: causal)
        }
    }

    @Test func losses() throws {
        let targets: [Int32] = [2, -100, 0, 4]
        try checkGradients([randomTensor([4, 5], -2, 2)]) { try $0[0].crossEntropy(targets: targets) }
        try checkGradients([randomTensor([4, 5], -2, 2)]) { try $0[0].crossEntropy(targets: targets, reduction: .sum) }
        let y = Tensor(shape: [2, 3], values: [1, 0, 1, 0, 0, 1])
        let w = Tensor(shape: [2, 3], values: [1, 1, 0, 1, 0.5, 1])
        try checkGradients([randomTensor([2, 3], -3, 3)]) { try $0[0].binaryCrossEntropyWithLogits(targets: y, weight: w) }
        try checkGradients([randomTensor([2, 3], -3, 3)]) { try $0[0].binaryCrossEntropyWithLogits(targets: y) }
    }

    @Test func randomOps() throws {
        let key = RandomKey(seed: 7, stream: 3)
        try checkGradients([randomTensor([4, 6])]) { try $0[0].dropout(0.3, training: true, key: key) }
        try checkGradients([randomTensor([3, 5])]) { try $0[0].gumbelSoftmax(tau: 0.7, hard: false, key: key) }
        // Straight-through: the gradient is the soft sample's.
        let x = randomTensor([3, 5])
        x.requiresGrad = true
        let hard = try x.gumbelSoftmax(tau: 0.7, hard: true, key: key)
        let w = randomTensor([3, 5], stream: 9)
        try (hard * w).sum().backward()
        let xs = x.detached()
        xs.requiresGrad = true
        let soft = try xs.gumbelSoftmax(tau: 0.7, hard: false, key: key)
        try (soft * w).sum().backward()
        #expect(x.grad!.scalars == xs.grad!.scalars)
        for r in 0..<3 { #expect((0..<5).map { hard[r, $0] }.reduce(0, +) == 1) }
    }
}
