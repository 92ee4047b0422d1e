// Label parsing on the real label files in ../shared/data (no images there): CheXpert's 1.0 / 0.0 / -1.0 /
// blank with each uncertainty policy, NIH's Data_Entry_2017, VinDr-CXR's per-radiologist rows, IU X-ray's
// reports.csv; each checked against an independent split of the same lines. Skipped where the data is absent.
// Not for: images (RealDatasetImportTests) or fixture trees.

import Foundation
import Testing
@testable import CarinaData

/// The first `rows` data lines (and the header) of a real gzipped label file, decompressed by our zlib reader.
private func head(_ file: String, rows: Int) throws -> [String] {
    let text = String(decoding: try CompressedFile.contents(of: sharedData + "/labels/" + file), as: UTF8.self)
    return Array(text.split(separator: "\n", omittingEmptySubsequences: false).prefix(rows + 1).map(String.init))
}

@Suite struct LabelFileImportTests {
    @Test(.enabled(if: sharedDataExists("labels/chexpert_train.csv.gz"), "../shared/data/labels absent"))
    func chexpertLabelsFollowTheUncertaintyPolicyAndBlankIsAbsent() throws {
        let lines = try head("chexpert_train.csv.gz", rows: 3000)
        let dir = try TemporaryDirectory("chexpert-labels")
        defer { dir.remove() }
        try dir.write(lines.joined(separator: "\n") + "\n", to: "CheXpert-v1.0-small/train.csv")
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        for policy in UncertaintyPolicy.allCases {
            let records = try CheXpertImporter(root: dir.path, uncertainty: policy).records().map { try $0.get() }
            #expect(records.count == 3000)
            var uncertain = 0
            for (record, line) in zip(records, lines.dropFirst()) {
                let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                var expected = [String: LabelValue]()
                for name in CheXpertImporter.findings {
                    let cell = cells[header.firstIndex(of: name)!]
                    if cell == "1.0" { expected[name] = 1 }
                    if cell == "0.0" { expected[name] = 0 }
                    if cell == "-1.0" { expected[name] = policy.value; uncertain += 1 }
                }
                #expect(record.labels == expected, "\(cells[0])")
                #expect(record.patientID == cells[0].split(separator: "/")[2].description)
                #expect(record.metadata["split"] == "train" && record.metadata["sex"] == cells[1])
            }
            #expect(uncertain > 100)
        }
        let first = try CheXpertImporter(root: dir.path).records().first { _ in true }!.get()
        #expect(first.key == "chexpert_train-patient00001-study1-view1_frontal")
        #expect(first.labels == ["No Finding": 1, "Pneumothorax": 0, "Support Devices": 1])
        #expect(first.imagePath == dir.path + "/CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg")
    }

    @Test(.enabled(if: sharedDataExists("labels/chexpert_train.csv.gz"), "../shared/data/labels absent"))
    func zlibReadsTheGzipFileAsGzipDoes() throws {
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "gzip -dc '\(sharedData)/labels/vinbigdata-train.csv.gz'"]
        let pipe = Pipe()
        gzip.standardOutput = pipe
        try gzip.run()
        let expected = pipe.fileHandleForReading.readDataToEndOfFile()
        gzip.waitUntilExit()
        #expect(gzip.terminationStatus == 0)
        #expect(try CompressedFile.contents(of: sharedData + "/labels/vinbigdata-train.csv.gz") == Array(expected))
    }

    @Test(.enabled(if: sharedDataExists("labels/Data_Entry_2017_v2020.csv.gz"), "../shared/data/labels absent"))
    func nihDataEntryListsFindingsAndNoFindingIsAllNegative() throws {
        let lines = try head("Data_Entry_2017_v2020.csv.gz", rows: 4000)
        let dir = try TemporaryDirectory("nih-entry")
        defer { dir.remove() }
        try dir.write(lines.joined(separator: "\n"), to: "Data_Entry_2017_v2020.csv")
        let records = try NIHChestXray14Importer(root: dir.path).records().map { try $0.get() }
        #expect(records.count == 4000)
        var noFinding = 0
        for (record, line) in zip(records, lines.dropFirst()) {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let listed = Set(cells[1].split(separator: "|").map(String.init))
            if listed == ["No Finding"] { noFinding += 1 }
            #expect(record.labels == Dictionary(uniqueKeysWithValues: NIHChestXray14Importer.findings.map { ($0, listed.contains($0) ? 1 : 0) }))
            #expect(record.key == "nih_" + cells[0].dropLast(4) && record.patientID == cells[3] && record.metadata["view"] == cells[6])
            #expect(record.imagePath == dir.path + "/images/" + cells[0])
        }
        #expect(noFinding > 1000)
    }

    @Test(.enabled(if: sharedDataExists("labels/vinbigdata-train.csv.gz"), "../shared/data/labels absent"))
    func vindrFindingIsPositiveIfAnyRadiologistMarkedIt() throws {
        let lines = try head("vinbigdata-train.csv.gz", rows: 3000)
        let dir = try TemporaryDirectory("vindr-labels")
        defer { dir.remove() }
        try dir.write(lines.joined(separator: "\n"), to: "train.csv")
        let records = try VinDrCXRImporter(root: dir.path).records().map { try $0.get() }
        var positives = [String: Set<String>](), order = [String](), rads = [String: Set<String>]()
        for line in lines.dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if positives[cells[0]] == nil { order.append(cells[0]); positives[cells[0]] = [] }
            if cells[1] != "No finding" { positives[cells[0]]!.insert(cells[1]) }
            rads[cells[0], default: []].insert(cells[3])
        }
        let vocabulary = Set(positives.values.flatMap { $0 })
        #expect(records.map(\.key) == order.map { "vindr_" + $0 })
        for (record, id) in zip(records, order) {
            #expect(Set(record.labels.keys) == vocabulary)
            #expect(Set(record.labels.filter { $0.value == 1 }.keys) == positives[id]!, "\(id)")
            #expect(record.metadata["radiologists"] == rads[id]!.sorted().joined(separator: "|"))
        }
        #expect(records.contains { $0.labels.values.allSatisfy { $0 == 0 } } && records.contains { $0.labels.values.contains(1) })
    }

    @Test(.enabled(if: sharedDataExists("iu-xray-reports/reports.csv"), "../shared/data/iu-xray-reports absent"))
    func iuReportsCSVGivesOneRecordPerImageWithItsReport() throws {
        let dir = try TemporaryDirectory("iu-csv")
        defer { dir.remove() }
        try FileManager.default.createSymbolicLink(atPath: dir.file("reports.csv"), withDestinationPath: sharedData + "/iu-xray-reports/reports.csv")
        let results = Array(try IUXrayImporter(root: dir.path).records())
        let records = results.compactMap { try? $0.get() }
        let failures = results.compactMap { if case let .failure(error) = $0 { return error } else { return nil } }
        // Every failure is an empty report, named by file, row and column.
        #expect(!failures.isEmpty && failures.allSatisfy { "\($0)".contains("reports.csv, row ") && "\($0)".contains("column 'report': the report is empty") })
        let first = try #require(records.first)
        #expect(first.key == "iu_CXR1_1_IM-0001-3001" && first.patientID == "CXR1")
        #expect(first.report == "FINDINGS: The cardiac silhouette and mediastinum size are within normal limits. There is no pulmonary edema. There is no focal consolidation. There are no XXXX of a pleural effusion. There is no evidence of pneumothorax. IMPRESSION: Normal chest x-XXXX.")
        #expect(first.labels.values.allSatisfy { $0 == 0 })
        #expect(records[1].key == "iu_CXR1_1_IM-0001-4001" && records[1].report == first.report)
        let second = try #require(records.first { $0.patientID == "CXR2" })
        #expect(second.labels["Cardiomegaly"] == 1 && second.labels["Pulmonary Artery"] == 1 && second.labels.values.filter { $0 == 1 }.count == 2)
        #expect(records.count > 7000)
        let allowed = try IUXrayImporter(root: dir.path, reports: ReportRules(allowEmpty: true)).records().map { try $0.get() }
        #expect(allowed.count > records.count && allowed.filter { $0.report.isEmpty }.count == allowed.count - records.count)
    }
}
