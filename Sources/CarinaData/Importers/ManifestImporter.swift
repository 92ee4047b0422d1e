// A generic manifest for one's own data (a PACS export): CSV columns or JSON-lines keys image (path relative
// to the manifest), report or text, labels ('|'-joined names: 1 listed, 0 the others) or one column per
// finding (--label-columns; 1 / 0 / -1 / blank), and optional id, patient_id, split; the rest is metadata.
// Not for: the named public layouts, which have importers of their own.

import Foundation

public struct ManifestImporter: DatasetImporter {
    public enum Format: String, Sendable { case csv, jsonl }

    public let manifest: String
    public let format: Format
    /// One column (key) per finding instead of a '|'-joined labels column.
    public let labelColumns: [String]?
    /// The allowed finding names in order; names outside are errors. Nil: whatever the manifest lists.
    public let classes: [String]?
    public let uncertainty: UncertaintyPolicy
    public let reports: ReportRules
    public var layout: String { format.rawValue }
    public var classNames: [String]? { labelColumns ?? classes }

    public init(manifest: String, format: Format, labelColumns: [String]? = nil, classes: [String]? = nil,
                uncertainty: UncertaintyPolicy = .ignore, reports: ReportRules = ReportRules()) {
        self.manifest = manifest
        self.format = format
        self.labelColumns = labelColumns
        self.classes = classes
        self.uncertainty = uncertainty
        self.reports = reports
    }

    /// One manifest entry as named fields (CSV row or JSON object) with the text naming it in errors.
    private struct Entry {
        var record: String
        var fields: [String: String]
        /// Labels given as a JSON array or object rather than a '|'-joined string.
        var labelList: [String]?
        var labelValues: [String: String]?
    }

    private static let known: Set<String> = ["image", "report", "text", "labels", "id", "key", "patient_id", "split"]

    public func records() throws -> AnySequence<Result<ImportRecord, DataError>> {
        let entries = try format == .csv ? csvEntries() : jsonlEntries()
        var vocabulary = classes ?? []
        if labelColumns == nil && classes == nil {
            var seen = Set<String>()
            for case let .success(entry) in entries {
                seen.formUnion(entry.labelValues.map { Array($0.keys) } ?? entry.labelList ?? LabelValues.names(entry.fields["labels"] ?? ""))
            }
            vocabulary = seen.sorted()
        }
        let base = manifest.directory
        let hasReports = entries.contains { (try? $0.get())?.fields["report"] != nil || (try? $0.get())?.fields["text"] != nil }
        return AnySequence(entries.lazy.map { [vocabulary] result -> Result<ImportRecord, DataError> in
            let entry: Entry
            switch result {
            case let .failure(error): return .failure(error)
            case let .success(value): entry = value
            }
            func bad(_ column: String?, _ problem: String) -> Result<ImportRecord, DataError> {
                .failure(.badRecord(file: self.manifest, record: entry.record, column: column, problem: problem))
            }
            guard let image = entry.fields["image"]?.trimmingWhitespace, !image.isEmpty else { return bad("image", "no image path") }
            let report = (entry.fields["report"] ?? entry.fields["text"] ?? "").trimmingWhitespace
            if hasReports, let problem = self.reports.emptinessProblem(report) {
                return bad(entry.fields["report"] != nil ? "report" : "text", problem)
            }
            var labels = [String: LabelValue]()
            if let columns = self.labelColumns {
                for name in columns {
                    switch LabelValues.parse(entry.labelValues?[name] ?? entry.fields[name] ?? "", uncertainty: self.uncertainty) {
                    case let .success(value?): labels[name] = value
                    case .success(nil): break
                    case let .failure(problem): return bad(name, problem.text)
                    }
                }
            } else if let values = entry.labelValues {
                for (name, cell) in values.sorted(by: { $0.key < $1.key }) {
                    guard vocabulary.contains(name) else {
                        return bad("labels", "unknown label '\(name)' (classes: \(vocabulary.joined(separator: ", ")))")
                    }
                    switch LabelValues.parse(cell, uncertainty: self.uncertainty) {
                    case let .success(value?): labels[name] = value
                    case .success(nil): break
                    case let .failure(problem): return bad("labels", "\(name): \(problem.text)")
                    }
                }
            } else {
                let names = entry.labelList ?? LabelValues.names(entry.fields["labels"] ?? "")
                if let unknown = names.first(where: { !vocabulary.contains($0) }) {
                    return bad("labels", "unknown label '\(unknown)' (classes: \(vocabulary.joined(separator: ", ")))")
                }
                labels = LabelValues.multiHot(names, vocabulary: vocabulary)
            }
            let id = (entry.fields["id"] ?? entry.fields["key"] ?? "").trimmingWhitespace
            let key = SampleKey.make(id.isEmpty ? image.replacingSuffix("." + (image.split(separator: ".").last.map(String.init) ?? "")) : id)
            var metadata = entry.fields.filter { !Self.known.contains($0.key) && !(self.labelColumns ?? []).contains($0.key) && !$0.value.isEmpty }
            if let split = entry.fields["split"]?.trimmingWhitespace, !split.isEmpty {
                metadata[SplitAssigner.officialSplitKey] = split == "validate" || split == "val" ? "valid" : split
            }
            let patient = entry.fields["patient_id"]?.trimmingWhitespace ?? ""
            return .success(ImportRecord(key: key, imagePath: DatasetFiles.resolve(image, relativeTo: base), report: report, labels: labels,
                                         patientID: patient.isEmpty ? nil : patient, metadata: metadata, file: self.manifest,
                                         record: entry.record, imageColumn: "image"))
        })
    }

    private func csvEntries() throws -> [Result<Entry, DataError>] {
        let csv = try ImporterCSV(path: manifest)
        _ = try csv.column("image")
        for column in labelColumns ?? [] { _ = try csv.column(column) }
        return csv.rows.map { row in
            if let error = csv.error(row) { return .failure(error) }
            return .success(Entry(record: row.locator, fields: Dictionary(zip(csv.header, row.fields), uniquingKeysWith: { first, _ in first })))
        }
    }

    private func jsonlEntries() throws -> [Result<Entry, DataError>] {
        let bytes = try CompressedFile.contents(of: manifest)
        var entries = [Result<Entry, DataError>]()
        var lineNumber = 0
        for line in bytes.split(separator: 10, omittingEmptySubsequences: false) {
            lineNumber += 1
            let record = "line \(lineNumber)"
            if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            guard String(validating: line, as: UTF8.self) != nil else {
                entries.append(.failure(.badRecord(file: manifest, record: record, column: nil, problem: "not valid UTF-8 text")))
                continue
            }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else {
                entries.append(.failure(.badRecord(file: manifest, record: record, column: nil, problem: "not a JSON object")))
                continue
            }
            var entry = Entry(record: record, fields: [:])
            var failure: DataError?
            for (key, value) in object {
                switch value {
                case let text as String: entry.fields[key] = text
                case let number as NSNumber: entry.fields[key] = number.stringValue
                case is NSNull: break
                case let list as [Any] where key == "labels":
                    let names = list.compactMap { $0 as? String }
                    entry.labelList = names
                    if names.count != list.count {
                        failure = failure ?? .badRecord(file: manifest, record: record, column: key, problem: "a labels list must hold names (strings)")
                    }
                case let map as [String: Any] where key == "labels":
                    entry.labelValues = map.mapValues { ($0 as? NSNumber)?.stringValue ?? "\($0)" }
                default:
                    failure = failure ?? .badRecord(file: manifest, record: record, column: key, problem: "a nested value where text or a number was expected")
                }
            }
            entries.append(failure.map { .failure($0) } ?? .success(entry))
        }
        return entries
    }
}
