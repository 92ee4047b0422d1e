// Anything samples can be read from by index (a shard directory, the synthetic phantoms, a subset of
// either, a subset of its findings): the loader's only view of a dataset. Not for: batching (BatchLoader).

public protocol SampleSource: Sendable {
    var count: Int { get }
    /// The findings, in the order of a batch's label columns.
    var classNames: [String] { get }
    func sample(at index: Int) throws -> Sample
    /// Sample `index` without its image and report; sources that can read it without decoding the image
    /// do so (choosing samples by their findings or grouping them by study reads every candidate's).
    func info(at index: Int) throws -> SampleInfo
}

/// What a sample says about itself besides its image and report.
public struct SampleInfo: Sendable, Equatable {
    public var labels: [String: LabelValue]
    public var patientID: String?
    public var metadata: [String: String]

    public init(labels: [String: LabelValue], patientID: String?, metadata: [String: String]) {
        (self.labels, self.patientID, self.metadata) = (labels, patientID, metadata)
    }

    public init(_ sample: Sample) { self.init(labels: sample.labels, patientID: sample.patientID, metadata: sample.metadata) }
}

extension SampleSource {
    public func info(at index: Int) throws -> SampleInfo { SampleInfo(try sample(at: index)) }
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
    public func info(at index: Int) throws -> SampleInfo { try base.info(at: indices[index]) }
}

extension ShardDataset: SampleSource {}

/// `base` with only the findings `classNames` (a subset of its own, in the order given): batches get
/// those label columns, and samples carry only their labels, so the others are held out of training
/// entirely (`data.holdOutClasses`). Images and reports are `base`'s.
public struct ClassSubsetSource: SampleSource {
    public let base: SampleSource
    public let classNames: [String]
    private let kept: Set<String>

    public init(_ base: SampleSource, classNames: [String]) {
        self.base = base
        self.classNames = classNames
        kept = Set(classNames)
    }

    public var count: Int { base.count }
    public func sample(at index: Int) throws -> Sample {
        var sample = try base.sample(at: index)
        sample.labels = sample.labels.filter { kept.contains($0.key) }
        return sample
    }
    public func info(at index: Int) throws -> SampleInfo {
        var info = try base.info(at: index)
        info.labels = info.labels.filter { kept.contains($0.key) }
        return info
    }
}
