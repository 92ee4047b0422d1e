// VinDr-CXR annotations (image_id, class_name, rad_id, boxes; one row per radiologist finding, several
// radiologists per image) with images converted to PNG named IMAGE_ID.png. A finding is 1 if any radiologist
// marked it and 0 otherwise; 'No finding' alone means all 0. Not for: the DICOM originals (convert them first).

public struct VinDrCXRImporter: DatasetImporter {
    /// Local lesion labels of VinDr-CXR (the 22 of PhysioNet's release, which include Kaggle's 14).
    public static let knownFindings = ["Aortic enlargement", "Atelectasis", "Calcification", "Cardiomegaly", "Clavicle fracture",
                                       "Consolidation", "Edema", "Emphysema", "Enlarged PA", "ILD", "Infiltration", "Lung Opacity",
                                       "Lung cavity", "Lung cyst", "Mediastinal shift", "Nodule/Mass", "Other lesion", "Pleural effusion",
                                       "Pleural thickening", "Pneumothorax", "Pulmonary fibrosis", "Rib fracture"]
    public static let noFinding = "No finding"

    public let root: String
    public let annotations: String?
    public var layout: String { "vindr-cxr" }
    /// The findings that occur in the annotation file, sorted (see `records`).
    public var classNames: [String]? { nil }

    /// `annotations` defaults to train.csv, annotations/annotations_train.csv or vinbigdata-train.csv under `root`.
    public init(root: String, annotations: String? = nil) {
        self.root = root
        self.annotations = annotations
    }

    public func annotationFile() throws -> String {
        if let annotations { return annotations }
        let candidates = ["train.csv", "annotations/annotations_train.csv", "vinbigdata-train.csv"].map { root + "/" + $0 }
        guard let found = DatasetFiles.firstFile(candidates) else {
            throw DataError.badDataset(path: root, problem: "no annotation file (looked for \(candidates.joined(separator: ", ")), or their .gz)")
        }
        return found
    }

    /// One record per image, in order of first appearance. Labels cover every finding that occurs in the file.
    public func records() throws -> AnySequence<Result<ImportRecord, DataError>> {
        let csv = try ImporterCSV(path: try annotationFile())
        let (imageID, className, radID) = (try csv.column("image_id"), try csv.column("class_name"), try csv.column("rad_id"))
        let box = ["x_min", "y_min", "x_max", "y_max"].compactMap { csv.optionalColumn($0) }
        var order = [String](), rowsOf = [String: [ImporterCSV.Row]](), broken = [String: DataError]()
        var vocabulary = Set<String>()
        for row in csv.rows {
            let id = row.fields.indices.contains(imageID) ? row.fields[imageID].trimmingWhitespace : ""
            if rowsOf[id] == nil { order.append(id) }
            rowsOf[id, default: []].append(row)
            if let error = csv.error(row) {
                if broken[id] == nil { broken[id] = error }
                continue
            }
            let name = row.fields[className].trimmingWhitespace
            if name == Self.noFinding { continue }
            if Self.knownFindings.contains(name) {
                vocabulary.insert(name)
            } else if broken[id] == nil {
                broken[id] = .badRecord(file: csv.file, record: row.locator, column: "class_name",
                                        problem: "unknown finding '\(name)' (VinDr-CXR findings: \(Self.knownFindings.joined(separator: ", ")), or No finding)")
            }
        }
        let findings = vocabulary.sorted()
        let folders = ["train", "train_png", "images", ""].map { $0.isEmpty ? root : root + "/" + $0 }
        return AnySequence(order.lazy.map { id -> Result<ImportRecord, DataError> in
            let rows = rowsOf[id] ?? []
            if let error = broken[id] { return .failure(error) }
            guard !id.isEmpty, let first = rows.first else {
                return .failure(.badRecord(file: csv.file, record: rows.first?.locator ?? "row ?", column: "image_id", problem: "the image id is empty"))
            }
            var positives = [String](), radiologists = Set<String>(), boxes = [String]()
            for row in rows {
                let name = row.fields[className].trimmingWhitespace
                radiologists.insert(row.fields[radID].trimmingWhitespace)
                if name == Self.noFinding { continue }
                positives.append(name)
                let corners = box.map { row.fields[$0].trimmingWhitespace }
                if corners.count == 4 && !corners.contains("") {
                    boxes.append(([name, row.fields[radID].trimmingWhitespace] + corners).joined(separator: "|"))
                }
            }
            let image = DatasetFiles.firstExisting(folders.map { $0 + "/" + id + ".png" }) ?? folders[0] + "/" + id + ".png"
            // boxes: "finding|radiologist|x_min|y_min|x_max|y_max" joined by ';'.
            var metadata = ["radiologists": radiologists.sorted().joined(separator: "|")]
            if !boxes.isEmpty { metadata["boxes"] = boxes.joined(separator: ";") }
            return .success(ImportRecord(key: SampleKey.make("vindr", id), imagePath: image, report: "",
                                         labels: LabelValues.multiHot(positives, vocabulary: findings), patientID: nil, metadata: metadata,
                                         file: csv.file, record: first.locator, imageColumn: "image_id"))
        })
    }
}
