// MIMIC-CXR-JPG v2: files/pXX/pSUBJECT/sSTUDY/DICOM_ID.jpg, mimic-cxr-2.0.0-metadata.csv(.gz) (dicom_id,
// subject_id, study_id, ViewPosition), -chexpert.csv(.gz) labels per study (CheXpert columns), -split.csv(.gz)
// official split, reports files/pXX/pSUBJECT/sSTUDY.txt (MIMIC-CXR's report archive unpacked at the root or
// in reports/). Options: frontal views only (AP/PA), a minimum number of report sentences.
// Not for: the DICOM release (use the JPG one) or CheXpert itself (CheXpertImporter).

public struct MIMICCXRImporter: DatasetImporter {
    public let root: String
    public let uncertainty: UncertaintyPolicy
    public let frontalOnly: Bool
    public let reports: ReportRules
    public var layout: String { "mimic-cxr" }
    public var classNames: [String]? { CheXpertImporter.findings }

    public init(root: String, uncertainty: UncertaintyPolicy = .ignore, frontalOnly: Bool = false, reports: ReportRules = ReportRules()) {
        self.root = root
        self.uncertainty = uncertainty
        self.frontalOnly = frontalOnly
        self.reports = reports
    }

    private func file(_ suffix: String) -> String? { DatasetFiles.firstFile([root + "/mimic-cxr-2.0.0-" + suffix + ".csv"]) }

    public func records() throws -> AnySequence<Result<ImportRecord, DataError>> {
        guard let metadataPath = file("metadata") else {
            throw DataError.badDataset(path: root, problem: "no mimic-cxr-2.0.0-metadata.csv(.gz): not a MIMIC-CXR-JPG folder")
        }
        let metadata = try ImporterCSV(path: metadataPath)
        let (dicom, subject, study) = (try metadata.column("dicom_id"), try metadata.column("subject_id"), try metadata.column("study_id"))
        let view = try metadata.column("ViewPosition")
        let studyLabels = try labelsByStudy()
        let officialSplit = try splitByDicom()
        let reportFolders = [root + "/files", root + "/reports/files", root + "/mimic-cxr-reports/files"]
        return AnySequence(metadata.rows.lazy.compactMap { row -> Result<ImportRecord, DataError>? in
            if let error = metadata.error(row) { return .failure(error) }
            let position = row.fields[view].trimmingWhitespace
            if self.frontalOnly && position != "AP" && position != "PA" { return nil }
            let (dicomID, subjectID, studyID) = (row.fields[dicom].trimmingWhitespace, row.fields[subject].trimmingWhitespace,
                                                 row.fields[study].trimmingWhitespace)
            guard subjectID.count >= 2, subjectID.allSatisfy(\.isNumber), studyID.allSatisfy(\.isNumber), !studyID.isEmpty, !dicomID.isEmpty else {
                return .failure(.badRecord(file: metadata.file, record: row.locator, column: nil,
                                           problem: "dicom_id '\(dicomID)', subject_id '\(subjectID)', study_id '\(studyID)' do not name an image"))
            }
            let folder = "p" + subjectID.prefix(2) + "/p" + subjectID
            // The report of the study; a missing one is an empty report (an error unless empty reports are allowed).
            var report = ""
            if let path = DatasetFiles.firstExisting(reportFolders.map { $0 + "/" + folder + "/s" + studyID + ".txt" }) {
                do {
                    let bytes = try FileBytes.contents(of: path)
                    guard let text = String(validating: bytes, as: UTF8.self) else {
                        return .failure(.badRecord(file: path, record: "study s\(studyID)", column: nil, problem: "the report is not valid UTF-8 text"))
                    }
                    report = MIMICReport.findingsAndImpression(text)
                } catch {
                    return .failure(.badRecord(file: path, record: "study s\(studyID)", column: nil, problem: "cannot read the report: \(error)"))
                }
            }
            if let problem = self.reports.emptinessProblem(report) {
                return .failure(.badRecord(file: metadata.file, record: row.locator, column: "study_id",
                                           problem: "study s\(studyID): \(problem) (no files/\(folder)/s\(studyID).txt or no text in it)"))
            }
            if !self.reports.hasEnoughSentences(report) { return nil }
            var extra = ["study_id": studyID, "view": position]
            if let split = officialSplit[dicomID] { extra[SplitAssigner.officialSplitKey] = split }
            let labels: [String: LabelValue]
            switch studyLabels[studyID] {
            case let .failure(error)?: return .failure(error)
            case let .success(values)?: labels = values
            case nil: labels = [:]
            }
            return .success(ImportRecord(
                key: SampleKey.make("mimic", "p" + subjectID, "s" + studyID, dicomID),
                imagePath: self.root + "/files/" + folder + "/s" + studyID + "/" + dicomID + ".jpg", report: report, labels: labels,
                patientID: subjectID, metadata: extra, file: metadata.file, record: row.locator, imageColumn: "dicom_id"))
        })
    }

    /// study_id -> labels from the CheXpert-labeller file (blank absent, -1 by the uncertainty policy).
    private func labelsByStudy() throws -> [String: Result<[String: LabelValue], DataError>] {
        guard let path = file("chexpert") else { return [:] }
        let csv = try ImporterCSV(path: path)
        let study = try csv.column("study_id")
        let columns = try CheXpertImporter.findings.map { try csv.column($0) }
        var labels = [String: Result<[String: LabelValue], DataError>]()
        for row in csv.rows {
            guard row.fields.indices.contains(study) else { continue }
            let id = row.fields[study].trimmingWhitespace
            if let error = csv.error(row) { labels[id] = .failure(error); continue }
            var values = [String: LabelValue]()
            var failure: DataError?
            for (name, column) in zip(CheXpertImporter.findings, columns) {
                switch LabelValues.parse(row.fields[column], uncertainty: uncertainty) {
                case let .success(value?): values[name] = value
                case .success(nil): break
                case let .failure(problem):
                    failure = failure ?? .badRecord(file: csv.file, record: row.locator, column: name, problem: problem.text)
                }
            }
            labels[id] = failure.map { .failure($0) } ?? .success(values)
        }
        return labels
    }

    /// dicom_id -> "train", "valid" or "test" from the official split file ("validate" is "valid").
    private func splitByDicom() throws -> [String: String] {
        guard let path = file("split") else { return [:] }
        let csv = try ImporterCSV(path: path)
        let (dicom, split) = (try csv.column("dicom_id"), try csv.column("split"))
        var result = [String: String]()
        for row in csv.rows where row.problem == nil {
            let name = row.fields[split].trimmingWhitespace
            result[row.fields[dicom].trimmingWhitespace] = name == "validate" ? "valid" : name
        }
        return result
    }
}
