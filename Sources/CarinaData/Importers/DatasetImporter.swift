// What every dataset layout provides to `carina prepare`: its records (labels, report, where the image is)
// read from the dataset's own files, each a Result so one bad record does not stop the others; images are
// decoded lazily, one sample at a time. Not for: a layout's file format (one importer type per layout).

/// One record of a dataset before its image is read: everything but the pixels, and where it came from.
public struct ImportRecord: Sendable, Equatable {
    public var key: String
    public var imagePath: String
    public var report: String
    public var labels: [String: LabelValue]
    public var patientID: String?
    public var metadata: [String: String]
    /// The dataset file and record this came from, and the column naming the image, for errors.
    public var file: String
    public var record: String
    public var imageColumn: String?

    public init(key: String, imagePath: String, report: String, labels: [String: LabelValue], patientID: String?,
                metadata: [String: String], file: String, record: String, imageColumn: String?) {
        self.key = key
        self.imagePath = imagePath
        self.report = report
        self.labels = labels
        self.patientID = patientID
        self.metadata = metadata
        self.file = file
        self.record = record
        self.imageColumn = imageColumn
    }

    /// Reads and decodes the image; a missing or undecodable image, or one over `maxImagePixels`, is an
    /// error naming the dataset file, the record, the column and the image path.
    public func load(maxImagePixels: Int = Image.defaultMaxPixels) throws -> Sample {
        let image: Image
        do {
            image = try Image.decode(contentsOf: imagePath, maxPixels: maxImagePixels)
        } catch let error as DataError {
            var problem = "\(error)"
            if case let .badImage(_, reason) = error { problem = "image \(imagePath): \(reason)" }
            throw DataError.badRecord(file: file, record: record, column: imageColumn, problem: problem)
        }
        return Sample(key: key, image: image, report: report, labels: labels, patientID: patientID, metadata: metadata)
    }

    /// Throws unless the image path, with every symbolic link resolved, lies inside `root`: a manifest row
    /// naming `/etc/shadow` or `../../secret.png` is an error naming the dataset file, the record and the path.
    public func checkInside(root: String) throws {
        if let problem = ImageRoot.problem(imagePath, root: root) {
            throw DataError.badRecord(file: file, record: record, column: imageColumn, problem: problem)
        }
    }
}

/// A dataset layout (`nih-cxr14`, `chexpert`, `csv` ...) that `carina prepare` can turn into shards.
public protocol DatasetImporter {
    /// The layout name, as given to `carina prepare` and recorded in dataset.json.
    var layout: String { get }
    /// The label columns in their canonical order, or nil for the sorted union of the labels found.
    var classNames: [String]? { get }
    /// Every record in the dataset's order. Throws only when nothing can be read (a missing file or
    /// column); a bad row is a `.failure` naming its file, row and column. Records a layout's options
    /// leave out (e.g. lateral views with frontal-only) are not yielded.
    func records() throws -> AnySequence<Result<ImportRecord, DataError>>
}

extension DatasetImporter {
    /// The records with their images decoded, lazily.
    public func samples() throws -> AnySequence<Result<Sample, DataError>> {
        AnySequence(try records().lazy.map { record in
            record.flatMap { record in
                Result { try record.load() }.mapError { $0 as? DataError ?? .badRecord(file: record.file, record: record.record, column: nil, problem: "\($0)") }
            }
        })
    }
}
