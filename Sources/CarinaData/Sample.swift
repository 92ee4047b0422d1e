// One image-report pair as Carina stores it in shards and hands it to the loader: the key, the image
// (grayscale, stored losslessly), the report text and the labels. Not for: decoding files (importers) or
// turning samples into batches (the loader).

/// A label value: 1 positive, 0 negative, -1 uncertain (CheXpert's -1.0), or absent from the record.
public typealias LabelValue = Float

public struct Sample: Sendable, Equatable {
    /// Unique, stable key within a dataset (file-name safe: letters, digits, '-', '_', '.'), e.g.
    /// "p10-s50414267-02aa804e" or "nih-00000013_005". Shard members are KEY.png, KEY.txt, KEY.json.
    public var key: String
    public var image: Image
    /// The free-text report (FINDINGS + IMPRESSION where the dataset has sections); may be empty.
    public var report: String
    /// Finding name -> value, for the findings the record states (others are unknown).
    public var labels: [String: LabelValue]
    /// Patient id where the dataset has one (splits are patient-disjoint).
    public var patientID: String?
    /// Anything else worth keeping (view position, study id, source path, licence).
    public var metadata: [String: String]

    public init(key: String, image: Image, report: String, labels: [String: LabelValue] = [:], patientID: String? = nil,
                metadata: [String: String] = [:]) {
        self.key = key
        self.image = image
        self.report = report
        self.labels = labels
        self.patientID = patientID
        self.metadata = metadata
    }
}
