// Anything samples can be read from by index (a shard directory, the synthetic phantoms, a subset of
// either): the loader's only view of a dataset. Not for: batching (BatchLoader).

public protocol SampleSource: Sendable {
    var count: Int { get }
    /// The findings, in the order of a batch's label columns.
    var classNames: [String] { get }
    func sample(at index: Int) throws -> Sample
}

/// The samples of `base` at `indices`, renumbered 0..<indices.count (a split of a dataset).
public struct SubsetSource: SampleSource {
    public let base: SampleSource
    public let indices: [Int]

    public init(_ base: SampleSource, indices: [Int]) {
        self.base = base
        self.indices = indices
    }

    public var count: Int { indices.count }
    public var classNames: [String] { base.classNames }
    public func sample(at index: Int) throws -> Sample { try base.sample(at: indices[index]) }
}

extension ShardDataset: SampleSource {}
