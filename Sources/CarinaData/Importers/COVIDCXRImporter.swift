// The COVID-19 image data collection manifest (id, image, text, labels, label_status, view, patient_id,
// license, doi, url): clinical notes as the report, '|'-joined diagnoses. 'labeled' rows are 1 for the
// listed diagnoses and 0 for the others seen in the file, 'no_finding' all 0, 'unlabeled' none (unknown).
// Not for: other layouts, or the generic CSV manifest (ManifestImporter).

public struct COVIDCXRImporter: DatasetImporter {
    public let root: String
    public let manifest: String
    public let reports: ReportRules
    public var layout: String { "covid-cxr" }
    public var classNames: [String]? { nil }

    /// `manifest` defaults to root/manifest.csv. Empty notes are errors unless `reports.allowEmpty`.
    public init(root: String, manifest: String? = nil, reports: ReportRules = ReportRules()) {
        self.root = root
        self.manifest = manifest ?? root + "/manifest.csv"
        self.reports = reports
    }

    public func records() throws -> AnySequence<Result<ImportRecord, DataError>> {
        let csv = try ImporterCSV(path: manifest)
        let (id, image, text, labels, status, patient) = (try csv.column("id"), try csv.column("image"), try csv.column("text"),
                                                           try csv.column("labels"), try csv.column("label_status"), try csv.column("patient_id"))
        let extra = ["view", "license", "doi", "url", "label_status"].compactMap { name in csv.optionalColumn(name).map { (name, $0) } }
        let vocabulary = Set(csv.rows.filter { $0.problem == nil }.flatMap { LabelValues.names($0.fields[labels]) }).sorted()
        let base = manifest.directory
        return AnySequence(csv.rows.lazy.map { row -> Result<ImportRecord, DataError> in
            if let error = csv.error(row) { return .failure(error) }
            func bad(_ column: String, _ problem: String) -> Result<ImportRecord, DataError> {
                .failure(.badRecord(file: csv.file, record: row.locator, column: column, problem: problem))
            }
            let names = LabelValues.names(row.fields[labels])
            let values: [String: LabelValue]
            switch row.fields[status].trimmingWhitespace {
            case "labeled":
                guard !names.isEmpty else { return bad("labels", "label_status is 'labeled' but no label is given") }
                values = LabelValues.multiHot(names, vocabulary: vocabulary)
            case "no_finding":
                guard names.isEmpty else { return bad("labels", "label_status is 'no_finding' but labels are given") }
                values = LabelValues.multiHot([], vocabulary: vocabulary)
            case "unlabeled":
                guard names.isEmpty else { return bad("labels", "label_status is 'unlabeled' but labels are given") }
                values = [:]
            case let other:
                return bad("label_status", "'\(other)' is not labeled, no_finding or unlabeled")
            }
            let report = row.fields[text].trimmingWhitespace
            if let problem = self.reports.emptinessProblem(report) { return bad("text", problem) }
            let key = SampleKey.make(row.fields[id])
            guard !key.isEmpty else { return bad("id", "the id is empty") }
            let patientID = row.fields[patient].trimmingWhitespace
            return .success(ImportRecord(
                key: key, imagePath: DatasetFiles.resolve(row.fields[image], relativeTo: base), report: report, labels: values,
                patientID: patientID.isEmpty ? nil : patientID,
                metadata: Dictionary(uniqueKeysWithValues: extra.map { ($0.0, row.fields[$0.1]) }).filter { !$0.value.isEmpty },
                file: csv.file, record: row.locator, imageColumn: "image"))
        })
    }
}
