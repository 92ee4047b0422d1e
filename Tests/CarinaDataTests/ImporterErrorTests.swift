// Bad inputs stop `prepare` with an error naming the file, the row and the column; with --skip-bad-samples
// the bad sample is counted and every other sample is still written. Covers truncated PNG, corrupt JPEG,
// a missing column, an empty report, non-UTF-8 text, a malformed row, an unknown label, a damaged .gz.
// Not for: damaged shards (ShardErrorTests).

import Foundation
import Testing
@testable import CarinaData

/// A folder with five good PNGs and a manifest; `bad` replaces row 3 (line 4) with raw bytes.
private struct BadManifest {
    let dir: TemporaryDirectory
    let manifest: String

    init(row3 bad: [UInt8]? = nil, header: String = "id,image,report,labels,patient_id", classes: Bool = false) throws {
        dir = try TemporaryDirectory("bad-manifest")
        var lines = [Array(header.utf8)]
        for i in 0..<5 {
            try dir.write(try testImage(width: 12, height: 10, seed: i).encodePNG(), to: "img/\(i).png")
            lines.append(Array("s\(i),img/\(i).png,Report \(i).,\(i % 2 == 0 ? "Edema" : ""),p\(i)".utf8))
        }
        if let bad { lines[3] = bad }
        manifest = dir.file("manifest.csv")
        try dir.write(Array(lines.joined(separator: [10])) + [10], to: "manifest.csv")
    }

    var importer: ManifestImporter { ManifestImporter(manifest: manifest, format: .csv) }

    /// Prepare stops naming the place; with skipping, the other four samples are written.
    func expectNamedAndSkippable(column: String?, _ problem: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let out = try TemporaryDirectory("bad-out")
        defer { out.remove() }
        let error = #expect(throws: DataError.self, sourceLocation: sourceLocation) {
            try Prepare.run(importer, into: out.path, options: PrepareOptions())
        }
        let text = error.map { String(describing: $0) } ?? ""
        let place = "\(manifest), row 3 (line 4)" + (column.map { ", column '\($0)'" } ?? "") + ": "
        #expect(text.hasPrefix(place), "\(text)", sourceLocation: sourceLocation)
        #expect(text.contains(problem), "\(text)", sourceLocation: sourceLocation)
        var options = PrepareOptions()
        options.skipBadSamples = true
        let report = try Prepare.run(importer, into: out.path, options: options)
        #expect(report.skipped == 1 && report.firstProblems == [text], sourceLocation: sourceLocation)
        let dataset = try ShardDataset(directory: out.path)
        #expect(dataset.keys == ["s0", "s1", "s3", "s4"], sourceLocation: sourceLocation)
        for (index, i) in [0, 1, 3, 4].enumerated() {
            #expect(try dataset.sample(at: index).image == (try testImage(width: 12, height: 10, seed: i)), sourceLocation: sourceLocation)
        }
    }
}

@Suite struct ImporterErrorTests {
    @Test func truncatedPNGNamesTheManifestRowAndImage() throws {
        let fixture = try BadManifest()
        defer { fixture.dir.remove() }
        let png = try testImage(width: 12, height: 10, seed: 2).encodePNG()
        try fixture.dir.write(Array(png.prefix(png.count / 2)), to: "img/2.png")
        try fixture.expectNamedAndSkippable(column: "image", "image \(fixture.dir.file("img/2.png")): PNG decode failed")
    }

    @Test func corruptJPEGNamesTheManifestRowAndImage() throws {
        let fixture = try BadManifest()
        defer { fixture.dir.remove() }
        var jpeg = try testImage(width: 32, height: 32, seed: 2).encodeJPEG()
        for i in 20..<min(200, jpeg.count) { jpeg[i] = 0x5A }
        try fixture.dir.write(jpeg, to: "img/2.png")  // named .png: the codec is chosen by magic bytes
        try fixture.expectNamedAndSkippable(column: "image", "JPEG decode failed")
    }

    @Test func missingImageFileNamesTheRow() throws {
        let fixture = try BadManifest()
        defer { fixture.dir.remove() }
        try FileManager.default.removeItem(atPath: fixture.dir.file("img/2.png"))
        try fixture.expectNamedAndSkippable(column: "image", "No such file or directory")
    }

    @Test func emptyReportNamesTheRowAndColumn() throws {
        let fixture = try BadManifest(row3: Array("s2,img/2.png,  ,,p2".utf8))
        defer { fixture.dir.remove() }
        try fixture.expectNamedAndSkippable(column: "report", "the report is empty")
    }

    @Test func nonUTF8TextNamesTheRowAndColumn() throws {
        let fixture = try BadManifest(row3: Array("s2,img/2.png,Caf".utf8) + [0xE9, 0xFF] + Array(" report,,p2".utf8))
        defer { fixture.dir.remove() }
        try fixture.expectNamedAndSkippable(column: "report", "not valid UTF-8")
    }

    @Test func malformedRowNamesTheRow() throws {
        let fixture = try BadManifest(row3: Array("s2,img/2.png,Report 2.,Edema".utf8))
        defer { fixture.dir.remove() }
        try fixture.expectNamedAndSkippable(column: nil, "4 fields where the header has 5")
    }

    @Test func strayQuoteNamesTheRowAndColumn() throws {
        let fixture = try BadManifest(row3: Array("s2,img/2.png,\"Quoted\" then text,,p2".utf8))
        defer { fixture.dir.remove() }
        try fixture.expectNamedAndSkippable(column: "report", "text after a closing quote")
    }

    @Test func unknownLabelNamesTheRowAndColumn() throws {
        let fixture = try BadManifest(row3: Array("s2,img/2.png,Report 2.,Edema|Pneumothorax,p2".utf8))
        defer { fixture.dir.remove() }
        let error = #expect(throws: DataError.self) {
            _ = try ManifestImporter(manifest: fixture.manifest, format: .csv, classes: ["Edema"]).records().map { try $0.get() }
        }
        #expect(String(describing: error!) == "\(fixture.manifest), row 3 (line 4), column 'labels': unknown label 'Pneumothorax' (classes: Edema)")
        let nih = try TemporaryDirectory("nih-unknown")
        defer { nih.remove() }
        try nih.write("id,image,labels,patient_id,age,sex,view\na,a.png,Effusion,1,50,M,PA\nb,b.png,Effusion|Pneumonitis,2,50,M,PA\n", to: "manifest.csv")
        let results = Array(try NIHChestXray14Importer(root: nih.path).records())
        #expect(results.count == 2 && (try? results[0].get()) != nil)
        guard case let .failure(nihError) = results[1] else { Issue.record("unknown NIH finding accepted"); return }
        #expect("\(nihError)".hasPrefix("\(nih.path)/manifest.csv, row 2 (line 3), column 'labels': unknown finding 'Pneumonitis'"))
    }

    @Test func missingColumnNamesTheFileHeaderAndColumnEvenWhenSkipping() throws {
        let fixture = try BadManifest(header: "id,picture,report,labels,patient_id")
        defer { fixture.dir.remove() }
        let out = try TemporaryDirectory("bad-out")
        defer { out.remove() }
        var options = PrepareOptions()
        options.skipBadSamples = true  // a missing column is no sample's fault: nothing could be imported
        let error = #expect(throws: DataError.self) { try Prepare.run(fixture.importer, into: out.path, options: options) }
        #expect(String(describing: error!) == "\(fixture.manifest), header (line 1), column 'image': missing column (the columns are: id, picture, report, labels, patient_id)")
        let covid = try TemporaryDirectory("covid-columns")
        defer { covid.remove() }
        try covid.write("id,image,labels,label_status,view,patient_id\n", to: "manifest.csv")
        let covidError = #expect(throws: DataError.self) { try COVIDCXRImporter(root: covid.path).records() }
        #expect(String(describing: covidError!).contains("manifest.csv, header (line 1), column 'text': missing column"))
    }

    @Test func badCheXpertValueNamesTheRowAndColumn() throws {
        let dir = try TemporaryDirectory("chexpert-bad")
        defer { dir.remove() }
        try dir.write("Path," + CheXpertImporter.findings.joined(separator: ",") + "\n"
                      + "CheXpert-v1.0/train/patient1/study1/view1_frontal.jpg,1.0" + String(repeating: ",", count: 13) + "\n"
                      + "CheXpert-v1.0/train/patient2/study1/view1_frontal.jpg,,,2.0" + String(repeating: ",", count: 11) + "\n", to: "train.csv")
        let results = Array(try CheXpertImporter(root: dir.path).records())
        guard case let .failure(error) = results[1] else { Issue.record("2.0 accepted as a label"); return }
        #expect("\(error)" == "\(dir.path)/train.csv, row 2 (line 3), column 'Cardiomegaly': '2.0' is not a label value (1.0, 0.0, -1.0 or blank)")
    }

    @Test func malformedJSONLineNamesTheLine() throws {
        let dir = try TemporaryDirectory("jsonl-bad")
        defer { dir.remove() }
        try dir.write(try testImage(width: 4, height: 4).encodePNG(), to: "a.png")
        try dir.write("{\"image\": \"a.png\", \"report\": \"Ok.\"}\n{\"image\": \"a.png\", \"report\": \n", to: "m.jsonl")
        let results = Array(try ManifestImporter(manifest: dir.file("m.jsonl"), format: .jsonl).records())
        guard case let .failure(error) = results[1] else { Issue.record("broken JSON accepted"); return }
        #expect("\(error)" == "\(dir.file("m.jsonl")), line 2: not a JSON object")
    }

    @Test func truncatedGzipNamesTheFile() throws {
        let dir = try TemporaryDirectory("gz-bad")
        defer { dir.remove() }
        guard sharedDataExists("labels/vinbigdata-train.csv.gz") else { return }
        let gz = try FileBytes.contents(of: sharedData + "/labels/vinbigdata-train.csv.gz")
        try dir.write(Array(gz.prefix(gz.count / 3)), to: "train.csv.gz")
        let error = #expect(throws: DataError.self) { try VinDrCXRImporter(root: dir.path).records() }
        #expect(String(describing: error!).hasPrefix("\(dir.file("train.csv.gz")), byte "), "\(String(describing: error!))")
        #expect(String(describing: error!).contains("gzip data is damaged or truncated"))
    }
}
