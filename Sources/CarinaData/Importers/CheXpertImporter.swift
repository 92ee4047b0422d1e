// CheXpert (train.csv / valid.csv with 'Path' and 14 label columns as 1.0 / 0.0 / -1.0 / blank): blank is
// absent (not negative), -1.0 follows the uncertainty policy. The official train/valid files give the split.
// Option: frontal views only (the 'Frontal/Lateral' column is 'Frontal').
// Not for: MIMIC-CXR's CheXpert-labeller file (MIMICCXRImporter reads the same columns per study).

public struct CheXpertImporter: DatasetImporter {
    /// The 14 label columns, in the order of the CheXpert files.
    public static let findings = ["No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema",
                                  "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion", "Pleural Other",
                                  "Fracture", "Support Devices"]

    public let root: String
    public let uncertainty: UncertaintyPolicy
    public let frontalOnly: Bool
    public var layout: String { "chexpert" }
    public var classNames: [String]? { Self.findings }

    public init(root: String, uncertainty: UncertaintyPolicy = .ignore, frontalOnly: Bool = false) {
        self.root = root
        self.uncertainty = uncertainty
        self.frontalOnly = frontalOnly
    }

    /// (file, official split) for train.csv and valid.csv in `root` or a CheXpert-v1.0* folder inside it.
    public func labelFiles() throws -> [(path: String, split: String)] {
        let folders = [root] + DatasetFiles.names(in: root).filter { $0.hasPrefix("CheXpert") }.map { root + "/" + $0 }
        for folder in folders {
            let files = [("train", "train"), ("valid", "valid")].compactMap { name, split in
                DatasetFiles.firstFile([folder + "/" + name + ".csv"]).map { (path: $0, split: split) }
            }
            if !files.isEmpty { return files }
        }
        throw DataError.badDataset(path: root, problem: "no train.csv or valid.csv (nor in a CheXpert-v1.0* folder): not a CheXpert folder")
    }

    public func records() throws -> AnySequence<Result<ImportRecord, DataError>> {
        let tables = try labelFiles().map { (try ImporterCSV(path: $0.path), $0.split) }
        var all = [AnySequence<Result<ImportRecord, DataError>>]()
        for (csv, split) in tables {
            let path = try csv.column("Path")
            let columns = try Self.findings.map { try csv.column($0) }
            let extra = [("sex", "Sex"), ("age", "Age"), ("frontal_lateral", "Frontal/Lateral"), ("ap_pa", "AP/PA")]
                .compactMap { key, column in csv.optionalColumn(column).map { (key, $0) } }
            let view = frontalOnly ? try csv.column("Frontal/Lateral") : nil
            let folder = csv.file.directory
            all.append(AnySequence(csv.rows.lazy.compactMap { row -> Result<ImportRecord, DataError>? in
                if let error = csv.error(row) { return .failure(error) }
                if let view, row.fields[view].trimmingWhitespace != "Frontal" { return nil }
                var labels = [String: LabelValue]()
                for (name, column) in zip(Self.findings, columns) {
                    switch LabelValues.parse(row.fields[column], uncertainty: self.uncertainty) {
                    case let .success(value?): labels[name] = value
                    case .success(nil): break
                    case let .failure(problem):
                        return .failure(.badRecord(file: csv.file, record: row.locator, column: name, problem: problem.text))
                    }
                }
                // "CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg"
                let relative = row.fields[path].trimmingWhitespace
                let parts = relative.split(separator: "/").map(String.init)
                guard parts.count >= 3, relative.lowercased().hasSuffix(".jpg") || relative.lowercased().hasSuffix(".png") else {
                    return .failure(.badRecord(file: csv.file, record: row.locator, column: "Path",
                                               problem: "'\(relative)' is not a path like CheXpert-v1.0/train/patient00001/study1/view1_frontal.jpg"))
                }
                let inside = parts.dropFirst().joined(separator: "/")  // without the dataset folder
                let image = DatasetFiles.firstExisting([self.root + "/" + relative, folder + "/../" + relative, folder + "/" + inside])
                    ?? self.root + "/" + relative
                var metadata = Dictionary(uniqueKeysWithValues: extra.map { ($0.0, row.fields[$0.1]) }).filter { !$0.value.isEmpty }
                metadata[SplitAssigner.officialSplitKey] = split
                let stem = String(inside.dropLast(4))
                return .success(ImportRecord(key: SampleKey.make("chexpert", stem), imagePath: image, report: "", labels: labels,
                                             patientID: parts.first(where: { $0.hasPrefix("patient") }), metadata: metadata,
                                             file: csv.file, record: row.locator, imageColumn: "Path"))
            }))
        }
        return AnySequence(all.joined())
    }
}
