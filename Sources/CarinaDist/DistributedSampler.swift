// Which samples each rank trains on: the global order of an epoch is a function of (seed, epoch) alone,
// global batch k is always the same samples, and rank r takes its contiguous slice of it. So the world
// size changes who sees a sample, never which samples form a batch; augmentation and masking are keyed
// by sample index elsewhere. Not for: evaluation (`EvaluationShard`, every sample exactly once).
import CarinaTensor

/// Where a sampler stands: the epoch and how many samples of it all ranks together have consumed.
/// World-size independent, so it can be saved on 8 ranks and restored on 2.
public struct SamplerState: Sendable, Equatable, Codable {
    public var epoch: Int
    public var samplesConsumed: Int

    public init(epoch: Int = 0, samplesConsumed: Int = 0) {
        self.epoch = epoch
        self.samplesConsumed = samplesConsumed
    }
}

public struct SamplerError: Error, CustomStringConvertible {
    public let description: String
}

public struct DistributedSampler: Sendable {
    /// Items an epoch visits once each: samples, or groups when grouped.
    public let datasetSize: Int
    public let globalBatch: Int
    public let seed: UInt64
    public let shuffle: Bool
    public var state: SamplerState
    /// Grouped sampling (one image per study, as PRIOR): an epoch visits every group once and takes one
    /// of its samples, drawn uniformly by (seed, epoch, group); nil: every sample once.
    public private(set) var groups: [[Int]]? = nil

    /// Training sampler: full global batches only (the remainder of an epoch is dropped, as DDP's
    /// drop_last), reshuffled every epoch when `shuffle`.
    public init(datasetSize: Int, globalBatch: Int, seed: UInt64, shuffle: Bool = true, state: SamplerState = .init()) throws {
        guard globalBatch > 0 else { throw SamplerError(description: "sampler: global batch must be positive, got \(globalBatch)") }
        guard datasetSize >= globalBatch else {
            throw SamplerError(description: "sampler: \(datasetSize) samples cannot fill one global batch of \(globalBatch)")
        }
        self.datasetSize = datasetSize
        self.globalBatch = globalBatch
        self.seed = seed
        self.shuffle = shuffle
        self.state = state
    }

    /// Grouped: each epoch visits every group of sample indices once and draws one of its members.
    public init(groups: [[Int]], globalBatch: Int, seed: UInt64, shuffle: Bool = true, state: SamplerState = .init()) throws {
        if let empty = groups.firstIndex(where: \.isEmpty) { throw SamplerError(description: "sampler: group \(empty) has no sample") }
        try self.init(datasetSize: groups.count, globalBatch: globalBatch, seed: seed, shuffle: shuffle, state: state)
        self.groups = groups
    }

    /// The sample drawn for item `position` (a group when grouped) in `epoch`.
    public func sample(_ position: Int, epoch: Int) -> Int {
        guard let groups else { return position }
        let members = groups[position]
        guard members.count > 1 else { return members[0] }
        var rng = RNG(seed: seed, "sampler.member", epoch, position)
        return members[rng.int(members.count)]
    }

    /// Global batches per epoch.
    public var batchesPerEpoch: Int { datasetSize / globalBatch }

    /// The order of all samples in `epoch`.
    public func order(epoch: Int) -> [Int] {
        guard shuffle else { return Array(0..<datasetSize) }
        var rng = RNG(seed: seed, "sampler", epoch)
        return rng.permutation(datasetSize)
    }

    /// The sample indices of global batch `k` of `epoch`.
    public func globalBatch(_ k: Int, epoch: Int) -> [Int] {
        order(epoch: epoch)[(k * globalBatch)..<((k + 1) * globalBatch)].map { sample($0, epoch: epoch) }
    }

    /// The global batch at the current state and this rank's slice of it; advances the state.
    public mutating func next(rank: Int, worldSize: Int) throws -> (epoch: Int, global: [Int], local: [Int]) {
        guard globalBatch % worldSize == 0 else {
            throw SamplerError(description: "sampler: global batch \(globalBatch) does not split evenly over \(worldSize) ranks")
        }
        if state.samplesConsumed + globalBatch > batchesPerEpoch * globalBatch {
            state = SamplerState(epoch: state.epoch + 1, samplesConsumed: 0)
        }
        let epoch = state.epoch
        let start = state.samplesConsumed
        let global = order(epoch: epoch)[start..<(start + globalBatch)].map { sample($0, epoch: epoch) }
        state.samplesConsumed += globalBatch
        let b = globalBatch / worldSize
        return (epoch, global, Array(global[(rank * b)..<((rank + 1) * b)]))
    }
}

/// Evaluation covers every sample exactly once: rank r takes a contiguous range, the first
/// `count % size` ranks one sample more, with no padding duplicates (results are gathered with counts).
public enum EvaluationShard {
    public static func range(count: Int, rank: Int, size: Int) -> Range<Int> {
        let base = count / size, extra = count % size
        let start = rank * base + Swift.min(rank, extra)
        return start..<(start + base + (rank < extra ? 1 : 0))
    }
}
