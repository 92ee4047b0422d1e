// Random ops: tensors of random draws, dropout, Gumbel-softmax (soft and straight-through). Every draw
// is keyed: row r of a batch uses stream (stream, firstRow + r), so a sample's dropout mask or Gumbel
// noise is the same whichever rank holds it and wherever it sits in the local batch.

/// Where the random draws of a batched op come from.
public struct RandomKey: Sendable, Equatable {
    public var seed: UInt64
    public var stream: UInt64
    /// Global index of the first row (sample) of the batch this op sees.
    public var firstRow: Int

    public init(seed: UInt64, stream: UInt64, firstRow: Int = 0) {
        self.seed = seed
        self.stream = stream
        self.firstRow = firstRow
    }

    /// A generator for row `r` of the batch.
    public func rng(row r: Int) -> RNG {
        RNG(seed: seed, stream: RNG.mix64(stream ^ RNG.mix64(UInt64(bitPattern: Int64(firstRow + r)))))
    }
}

extension Tensor {
    /// Uniform draws in [lo, hi).
    public static func uniform(_ shape: [Int], _ lo: Float, _ hi: Float, rng: inout RNG) -> Tensor {
        let t = Tensor(uninitialized: shape)
        for i in 0..<t.count { t.pointer[i] = rng.uniform(lo, hi) }
        return t
    }

    /// Normal draws with the given mean and standard deviation.
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, rng: inout RNG) -> Tensor {
        let t = Tensor(uninitialized: shape)
        for i in 0..<t.count { t.pointer[i] = mean + std * rng.normal() }
        return t
    }

    /// Per-row draws for a batched op: row r (along axis 0) from `key.rng(row: r)`. Each row has its own
    /// generator, so the rows are split over the threads with the same draws.
    static func rowDraws(_ shape: [Int], key: RandomKey, _ draw: (inout RNG) -> Float) -> Tensor {
        let t = Tensor(uninitialized: shape)
        let rows = shape.first ?? 1
        let per = t.count / Swift.max(rows, 1)
        let p = t.pointer
        Parallel.forRanges(rows, grain: Kernels.grain(valuesPerItem: per)) { range in
            for r in range {
                var g = key.rng(row: r)
                for j in 0..<per { p[r * per + j] = draw(&g) }
            }
        }
        return t
    }

    /// Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1-p).
    /// Identity when `training` is false or p is 0. Axis 0 is the sample axis for keying.
    public func dropout(_ p: Float, training: Bool, key: RandomKey) throws -> Tensor {
        guard p >= 0 && p < 1 else { throw TensorError.invalidArgument(op: "dropout", detail: "probability \(p) must be in [0, 1)") }
        if !training || p == 0 { return self }
        let keep = 1 - p
        let mask = Tensor.rowDraws(shape, key: key) { g in g.uniform() < p ? 0 : 1 / keep }
        return try self * mask
    }

    /// Gumbel-softmax over the last axis: softmax((logits + g) / tau) with g ~ Gumbel(0, 1).
    /// `hard`: the forward value is the one-hot of the argmax and the gradient is the soft sample's
    /// (straight-through estimator).
    public func gumbelSoftmax(tau: Float, hard: Bool, key: RandomKey) throws -> Tensor {
        guard tau > 0 else { throw TensorError.invalidArgument(op: "gumbel_softmax", detail: "temperature \(tau) must be positive") }
        let noise = Tensor.rowDraws(shape, key: key) { g in g.gumbel() }
        let soft = try ((self + noise) / tau).softmax(axis: -1)
        return hard ? try soft.straightThroughOneHot() : soft
    }

    /// Forward: one-hot of the argmax over the last axis. Backward: the identity (straight-through).
    public func straightThroughOneHot() throws -> Tensor {
        let n = Swift.max(shape.last ?? 1, 1)
        let rows = count / n
        let out = Tensor.zeros(shape)
        for r in 0..<rows {
            var best = 0
            for j in 1..<n where pointer[r * n + j] > pointer[r * n + best] { best = j }
            out.pointer[r * n + best] = 1
        }
        return Autograd.record(out, "straight_through", [self]) { [self] g in
            accumulateGrad(g)
        }
    }
}
