// The real NIH ChestX-ray14 subset and COVID-19 collection in ../shared/data become shards and read back
// with identical pixels, labels, reports and patients, sample by sample. Skipped where the data is absent.
// Not for: label files without images (LabelFileImportTests) or fixture trees (the other importer suites).

import Foundation
import Testing
@testable import CarinaData

@Suite struct RealDatasetImportTests {
    @Test(.enabled(if: sharedDataExists("nih-cxr14-1000/manifest.csv"), "../shared/data/nih-cxr14-1000 absent"))
    func nihSubsetReadsBackWithIdenticalPixelsAndLabels() throws {
        let root = sharedData + "/nih-cxr14-1000"
        let out = try TemporaryDirectory("nih-shards")
        defer { out.remove() }
        var options = PrepareOptions()
        options.samplesPerShard = 256
        let report = try Prepare.run(NIHChestXray14Importer(root: root), into: out.path, options: options)
        #expect(report.skipped == 0)
        let dataset = try ShardDataset(directory: out.path)
        #expect(dataset.classNames == NIHChestXray14Importer.findings)
        #expect(dataset.manifest.layout == "nih-cxr14")

        // The manifest has no quoted fields: split lines independently of the importer's CSV reader.
        let lines = try String(contentsOfFile: root + "/manifest.csv", encoding: .utf8)
            .split(whereSeparator: \.isNewline).dropFirst()
        #expect(dataset.count == lines.count && lines.count > 700)
        var patientsBySplit = [String: Set<String>]()
        for (i, line) in lines.enumerated() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let sample = try dataset.sample(at: i)
            #expect(sample.key == f[0])
            #expect(sample.image == (try Image.decode(contentsOf: root + "/" + f[1])), "\(f[0])")
            let positives = Set(f[2].split(separator: "|").map(String.init))
            #expect(sample.labels == Dictionary(uniqueKeysWithValues: NIHChestXray14Importer.findings.map { ($0, positives.contains($0) ? 1 : 0) }),
                    "\(f[0])")
            #expect(sample.patientID == f[3] && sample.metadata["view"] == f[6] && sample.report.isEmpty)
            let split = SplitAssigner.names.first { dataset.indices(split: $0).contains(i) } ?? "none"
            patientsBySplit[split, default: []].insert(f[3])
        }
        #expect(patientsBySplit["none"] == nil)
        #expect(patientsBySplit["train"]!.isDisjoint(with: patientsBySplit["test"]!))
        #expect(patientsBySplit["train"]!.isDisjoint(with: patientsBySplit["valid"]!))
        try dataset.verify()
    }

    @Test(.enabled(if: sharedDataExists("covid-cxr/manifest.csv"), "../shared/data/covid-cxr absent"))
    func covidCollectionReadsBackWithIdenticalPixelsLabelsAndNotes() throws {
        let root = sharedData + "/covid-cxr"
        let importer = COVIDCXRImporter(root: root, reports: ReportRules(allowEmpty: true))
        let out = try TemporaryDirectory("covid-shards")
        defer { out.remove() }
        let report = try Prepare.run(importer, into: out.path, options: PrepareOptions())
        #expect(report.skipped == 0)
        let dataset = try ShardDataset(directory: out.path)
        let originals = try importer.samples().map { try $0.get() }
        #expect(dataset.count == originals.count && originals.count > 500)
        for (i, original) in originals.enumerated() {
            let sample = try dataset.sample(at: i)
            #expect(sample == original, "\(original.key)")
            #expect(sample.image == (try Image.decode(contentsOf: root + "/images128/" + original.key + ".png")))
            // The rule for labels, checked against the status column kept in metadata.
            switch original.metadata["label_status"] {
            case "labeled": #expect(sample.labels.values.contains(1) && sample.labels.count == dataset.classNames.count)
            case "no_finding": #expect(sample.labels.count == dataset.classNames.count && !sample.labels.values.contains(1))
            default: #expect(sample.labels.isEmpty)
            }
        }
        let first = try dataset.sample(at: 0)
        #expect(first.key == "covid_0000" && first.labels["COVID-19"] == 1 && first.labels["SARS"] == 0 && first.patientID == "2")
        #expect(first.report.hasPrefix("On January 22, 2020, a 65-year-old man"))
        #expect(dataset.classNames.contains("COVID-19") && dataset.classNames == dataset.classNames.sorted())
    }

    @Test(.enabled(if: sharedDataExists("covid-cxr/manifest.csv"), "../shared/data/covid-cxr absent"))
    func emptyCovidNotesStopPrepareNamingTheRowUnlessSkipped() throws {
        let root = sharedData + "/covid-cxr"
        let out = try TemporaryDirectory("covid-empty")
        defer { out.remove() }
        let error = #expect(throws: DataError.self) {
            try Prepare.run(COVIDCXRImporter(root: root), into: out.path, options: PrepareOptions())
        }
        let text = String(describing: error!)
        #expect(text.hasPrefix(root + "/manifest.csv, row "), "\(text)")
        #expect(text.contains("column 'text': the report is empty"), "\(text)")

        let all = try COVIDCXRImporter(root: root, reports: ReportRules(allowEmpty: true)).records().map { try $0.get() }
        let empty = all.filter { $0.report.isEmpty }
        var options = PrepareOptions()
        options.skipBadSamples = true
        let report = try Prepare.run(COVIDCXRImporter(root: root), into: out.path, options: options)
        #expect(empty.count > 0 && report.skipped == empty.count)
        #expect(try ShardDataset(directory: out.path).keys == all.filter { !$0.report.isEmpty }.map(\.key))
        #expect(report.firstProblems.count == 5 && report.firstProblems.allSatisfy { $0.contains("the report is empty") })
    }
}
