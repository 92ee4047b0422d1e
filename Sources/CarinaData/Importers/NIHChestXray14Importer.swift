// NIH ChestX-ray14: either the official Data_Entry_2017*.csv ('Image Index', 'Finding Labels' joined by '|',
// 'No Finding' = no positives, 'Patient ID', 'View Position') with PNGs under images*/, or a subset's
// manifest.csv (id, image, labels, patient_id, age, sex, view). The 14 findings are 1 when listed, else 0.
// The official train_val_list.txt / test_list.txt decide the split when present. Not for: other layouts.

public struct NIHChestXray14Importer: DatasetImporter {
    /// The 14 findings in the order of the NIH paper and its label files.
    public static let findings = ["Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule", "Pneumonia",
                                  "Pneumothorax", "Consolidation", "Edema", "Emphysema", "Fibrosis", "Pleural_Thickening", "Hernia"]

    public let root: String
    public var layout: String { "nih-cxr14" }
    public var classNames: [String]? { Self.findings }

    public init(root: String) {
        self.root = root
    }

    /// The label file this importer reads under `root`: manifest.csv, else Data_Entry_2017*.csv(.gz).
    public func labelFile() throws -> String {
        if let manifest = DatasetFiles.firstFile([root + "/manifest.csv"]) { return manifest }
        if let entry = DatasetFiles.names(in: root).first(where: { $0.hasPrefix("Data_Entry_2017") && ($0.hasSuffix(".csv") || $0.hasSuffix(".csv.gz")) }) {
            return root + "/" + entry
        }
        throw DataError.badDataset(path: root, problem: "no manifest.csv or Data_Entry_2017*.csv: not an NIH ChestX-ray14 folder")
    }

    public func records() throws -> AnySequence<Result<ImportRecord, DataError>> {
        let path = try labelFile()
        let csv = try ImporterCSV(path: path)
        let official = try officialSplit()
        if csv.header.contains("Image Index") { return try dataEntryRecords(csv, official: official) }
        return try subsetRecords(csv, official: official)
    }

    /// A subset manifest: id, image (relative to the folder), labels, patient_id, age, sex, view.
    private func subsetRecords(_ csv: ImporterCSV, official: [String: String]) throws -> AnySequence<Result<ImportRecord, DataError>> {
        let (id, image, labels, patient) = (try csv.column("id"), try csv.column("image"), try csv.column("labels"), try csv.column("patient_id"))
        let extra = ["age", "sex", "view"].compactMap { name in csv.optionalColumn(name).map { (name, $0) } }
        return AnySequence(csv.rows.lazy.map { row in
            if let error = csv.error(row) { return .failure(error) }
            let file = row.fields[image]
            let name = file.split(separator: "/").last.map(String.init) ?? file
            return self.record(csv, row, key: SampleKey.make(row.fields[id]), imagePath: DatasetFiles.resolve(file, relativeTo: self.root),
                               imageColumn: "image", labels: row.fields[labels], labelColumn: "labels", patient: row.fields[patient],
                               metadata: Dictionary(uniqueKeysWithValues: extra.map { ($0.0, row.fields[$0.1]) }), split: official[name])
        })
    }

    /// The official Data_Entry_2017 file; images are looked up by name under images*/ folders.
    private func dataEntryRecords(_ csv: ImporterCSV, official: [String: String]) throws -> AnySequence<Result<ImportRecord, DataError>> {
        let (name, labels, patient) = (try csv.column("Image Index"), try csv.column("Finding Labels"), try csv.column("Patient ID"))
        let extra = [("view", "View Position"), ("age", "Patient Age"), ("sex", "Patient Gender"), ("follow_up", "Follow-up #")]
            .compactMap { key, column in csv.optionalColumn(column).map { (key, $0) } }
        var images = [String: String]()
        for folder in DatasetFiles.names(in: root) where folder.hasPrefix("images") && DatasetFiles.isDirectory(root + "/" + folder) {
            images.merge(DatasetFiles.index(under: root + "/" + folder, extensions: [".png"])) { first, _ in first }
        }
        return AnySequence(csv.rows.lazy.map { [images] row in
            if let error = csv.error(row) { return .failure(error) }
            let file = row.fields[name]
            let stem = file.hasSuffix(".png") ? String(file.dropLast(4)) : file
            return self.record(csv, row, key: SampleKey.make("nih", stem), imagePath: images[file] ?? self.root + "/images/" + file,
                               imageColumn: "Image Index", labels: row.fields[labels], labelColumn: "Finding Labels",
                               patient: row.fields[patient],
                               metadata: Dictionary(uniqueKeysWithValues: extra.map { ($0.0, row.fields[$0.1]) }), split: official[file])
        })
    }

    private func record(_ csv: ImporterCSV, _ row: ImporterCSV.Row, key: String, imagePath: String, imageColumn: String, labels cell: String,
                        labelColumn: String, patient: String, metadata: [String: String], split: String?) -> Result<ImportRecord, DataError> {
        let names = LabelValues.names(cell).filter { $0 != "No Finding" }
        if let unknown = names.first(where: { !Self.findings.contains($0) }) {
            return .failure(.badRecord(file: csv.file, record: row.locator, column: labelColumn,
                                       problem: "unknown finding '\(unknown)' (NIH findings: \(Self.findings.joined(separator: ", ")), or No Finding)"))
        }
        var metadata = metadata.filter { !$0.value.isEmpty }
        if let split { metadata[SplitAssigner.officialSplitKey] = split }
        let patient = patient.trimmingWhitespace
        return .success(ImportRecord(key: key, imagePath: imagePath, report: "", labels: LabelValues.multiHot(names, vocabulary: Self.findings),
                                     patientID: patient.isEmpty ? nil : patient, metadata: metadata, file: csv.file,
                                     record: row.locator, imageColumn: imageColumn))
    }

    /// Image file name -> "trainval" or "test" from the official lists, when both are in the folder.
    private func officialSplit() throws -> [String: String] {
        guard let trainval = DatasetFiles.firstFile([root + "/train_val_list.txt"]),
              let test = DatasetFiles.firstFile([root + "/test_list.txt"]) else { return [:] }
        var split = [String: String]()
        for (file, name) in [(trainval, "trainval"), (test, "test")] {
            let text = String(decoding: try CompressedFile.contents(of: file), as: UTF8.self)
            for line in text.split(whereSeparator: \.isNewline) where !String(line).trimmingWhitespace.isEmpty {
                split[String(line).trimmingWhitespace] = name
            }
        }
        return split
    }
}
