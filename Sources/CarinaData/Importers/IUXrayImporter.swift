// IU X-ray (Open-I): report XML files (ecgen-radiology/*.xml) whose parentImage ids name the PNG radiographs,
// one sample per image with its report's FINDINGS and IMPRESSION; or, without XML, a reports.csv (id,
// image_ids '|'-joined, report, labels). Labels are the MeSH major terms (before any '/'), 'normal' none.
// Not for: the report section parser of the text pipeline, or other layouts.

public struct IUXrayImporter: DatasetImporter {
    public let root: String
    public let reports: ReportRules
    public var layout: String { "iu-xray" }
    public var classNames: [String]? { nil }

    public init(root: String, reports: ReportRules = ReportRules()) {
        self.root = root
        self.reports = reports
    }

    /// The report XML files: root/ecgen-radiology/*.xml, else *.xml in root.
    func xmlFiles() -> [String] {
        for folder in [root + "/ecgen-radiology", root] {
            let files = DatasetFiles.names(in: folder).filter { $0.lowercased().hasSuffix(".xml") }
            if !files.isEmpty { return files.map { folder + "/" + $0 } }
        }
        return []
    }

    public func records() throws -> AnySequence<Result<ImportRecord, DataError>> {
        let xml = xmlFiles()
        let images = DatasetFiles.index(under: root, extensions: [".png"])
        let imageFolder = DatasetFiles.isDirectory(root + "/NLMCXR_png") ? root + "/NLMCXR_png" : root + "/images"
        func imagePath(_ id: String) -> String { images[id + ".png"] ?? imageFolder + "/" + id + ".png" }
        if !xml.isEmpty { return try xmlRecords(xml, imagePath: imagePath) }
        guard let csv = DatasetFiles.firstFile([root + "/reports.csv"]) else {
            throw DataError.badDataset(path: root, problem: "no report XML files (ecgen-radiology/*.xml) and no reports.csv: not an IU X-ray folder")
        }
        return try csvRecords(try ImporterCSV(path: csv), imagePath: imagePath)
    }

    /// Terms of MeSH major headings: "Opacity/lung/apex/left" -> "Opacity"; "normal" and "No Indexing" -> none.
    static func labelNames(meshMajor: [String]) -> [String] {
        var names = [String]()
        for term in meshMajor {
            let name = (term.split(separator: "/").first.map(String.init) ?? "").trimmingWhitespace
            if !name.isEmpty && name.lowercased() != "normal" && name != "No Indexing" && !names.contains(name) { names.append(name) }
        }
        return names
    }

    private func xmlRecords(_ files: [String], imagePath: (String) -> String) throws -> AnySequence<Result<ImportRecord, DataError>> {
        var parsed = [(file: String, report: Result<OpenIReport, DataError>)]()
        for file in files {
            parsed.append((file, Result { try OpenIReport.read(path: file) }.mapError { $0 as? DataError ?? .badRecord(file: file, record: "whole file", column: nil, problem: "\($0)") }))
        }
        let vocabulary = Set(parsed.flatMap { (try? $0.report.get()).map { Self.labelNames(meshMajor: $0.meshMajor) } ?? [] }).sorted()
        var records = [Result<ImportRecord, DataError>]()
        for (file, result) in parsed {
            let report: OpenIReport
            switch result {
            case let .failure(error): records.append(.failure(error)); continue
            case let .success(value): report = value
            }
            let id = report.id.isEmpty ? String(file.split(separator: "/").last ?? "").replacingSuffix(".xml") : report.id
            for image in report.images {
                let record = "parentImage \(image)"
                if let problem = reports.emptinessProblem(report.report) {
                    records.append(.failure(.badRecord(file: file, record: record, column: "AbstractText FINDINGS/IMPRESSION", problem: problem)))
                    continue
                }
                records.append(.success(ImportRecord(
                    key: SampleKey.make("iu", image), imagePath: imagePath(image), report: report.report,
                    labels: LabelValues.multiHot(Self.labelNames(meshMajor: report.meshMajor), vocabulary: vocabulary), patientID: id,
                    metadata: ["report_id": id], file: file, record: record, imageColumn: "parentImage")))
            }
        }
        return AnySequence(records)
    }

    private func csvRecords(_ csv: ImporterCSV, imagePath: @escaping (String) -> String) throws -> AnySequence<Result<ImportRecord, DataError>> {
        let (id, imageIDs, text) = (try csv.column("id"), try csv.column("image_ids"), try csv.column("report"))
        let labels = csv.optionalColumn("labels")
        let vocabulary = Set(csv.rows.filter { $0.problem == nil }.flatMap { row in labels.map { LabelValues.names(row.fields[$0]) } ?? [] }).sorted()
        return AnySequence(csv.rows.lazy.flatMap { row -> [Result<ImportRecord, DataError>] in
            if let error = csv.error(row) { return [.failure(error)] }
            let images = LabelValues.names(row.fields[imageIDs])
            let report = ReportRules.normalizeWhitespace(row.fields[text])
            if !images.isEmpty, let problem = self.reports.emptinessProblem(report) {
                return [.failure(.badRecord(file: csv.file, record: row.locator, column: "report", problem: problem))]
            }
            let positives = labels.map { LabelValues.names(row.fields[$0]) } ?? []
            let reportID = row.fields[id].trimmingWhitespace
            return images.map { image in
                .success(ImportRecord(key: SampleKey.make("iu", image), imagePath: imagePath(image), report: report,
                                      labels: labels == nil ? [:] : LabelValues.multiHot(positives, vocabulary: vocabulary),
                                      patientID: reportID.isEmpty ? nil : reportID, metadata: reportID.isEmpty ? [:] : ["report_id": reportID],
                                      file: csv.file, record: row.locator, imageColumn: "image_ids"))
            }
        })
    }
}

extension String {
    func replacingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
