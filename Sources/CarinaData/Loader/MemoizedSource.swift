// A source whose samples are made once and then kept in memory: the phantoms, which a run renders again on
// every epoch (rendering one costs ~4x reading it from a shard, and the quickstart visits each ~10 times,
// on the cores training uses). Samples are the source's own, so training is bit-identical with or without.
// Not for: shard datasets (the OS page cache already keeps their files) or sources larger than memory.
import Synchronization

public final class MemoizedSource: SampleSource, Sendable {
    public let base: SampleSource
    private let kept: Mutex<[Sample?]>

    public init(_ base: SampleSource) {
        self.base = base
        kept = Mutex([Sample?](repeating: nil, count: base.count))
    }

    public var count: Int { base.count }
    public var classNames: [String] { base.classNames }

    /// How many samples are kept so far.
    public var keptCount: Int { kept.withLock { $0.reduce(0) { $0 + ($1 == nil ? 0 : 1) } } }

    public func sample(at index: Int) throws -> Sample {
        guard index >= 0 && index < count else { return try base.sample(at: index) }  // the source's own error
        if let sample = kept.withLock({ $0[index] }) { return sample }
        // Made outside the lock (workers render different samples at once); two workers asking for the same
        // index both make it, identically, and one copy is kept.
        let sample = try base.sample(at: index)
        kept.withLock { $0[index] = sample }
        return sample
    }

    public func info(at index: Int) throws -> SampleInfo { try base.info(at: index) }
}
