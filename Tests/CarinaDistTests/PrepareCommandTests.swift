// `carina prepare` as users run it: the built binary on the real NIH subset and COVID notes in ../shared/data
// (skipped where absent): what it prints, the exit status on a bad row, and option validation.
// Not for: importer or shard behaviour in detail (CarinaDataTests).

import Foundation
import Testing
import CarinaTestSupport

private let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("../shared/data").standardizedFileURL.path

@Suite struct PrepareCommandTests {
    @Test(.enabled(if: FileManager.default.fileExists(atPath: data + "/nih-cxr14-1000/manifest.csv"), "../shared/data/nih-cxr14-1000 absent"))
    func preparesVerifiesAndSummarises() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("carina-prepare-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let result = try await runSubprocess(try CarinaBinary.locate(), [
            "prepare", "nih-cxr14", "--root", data + "/nih-cxr14-1000", "--out", out, "--limit", "60", "--samples-per-shard", "25",
            "--image-size", "32", "--verify",
        ], environment: ["CARINA_THREADS": "1"])
        #expect(result.status == 0, "stderr:\n\(result.stderr)")
        #expect(result.stdout.hasPrefix("prepared 60 samples of \((out as NSString).lastPathComponent) (nih-cxr14) into 3 shards in \(out)\n"),
                "\(result.stdout)")
        #expect(result.stdout.contains("classes: 14; content hash fnv1a64:") && result.stdout.contains("verified; random reads: 60 samples"))
        #expect(FileManager.default.fileExists(atPath: out + "/shard-000002.tar") && FileManager.default.fileExists(atPath: out + "/dataset.json"))
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: data + "/covid-cxr/manifest.csv"), "../shared/data/covid-cxr absent"))
    func badRowFailsNamingItUnlessSkipped() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("carina-prepare-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let arguments = ["prepare", "covid-cxr", "--root", data + "/covid-cxr", "--out", out, "--limit", "200"]
        let failed = try await runSubprocess(try CarinaBinary.locate(), arguments)
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("covid-cxr/manifest.csv, row ") && failed.stderr.contains("column 'text': the report is empty"), "\(failed.stderr)")
        let skipped = try await runSubprocess(try CarinaBinary.locate(), arguments + ["--skip-bad-samples"])
        #expect(skipped.status == 0, "stderr:\n\(skipped.stderr)")
        #expect(skipped.stdout.contains("prepared 200 samples") && skipped.stdout.contains("bad samples; the first:"), "\(skipped.stdout)")
    }

    @Test func imagesOutsideTheRootNeedAnOptionAndTheirContentIsNeverPrinted() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("carina-outside-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/secret", withIntermediateDirectories: true)
        try "root:$6$SECRET-HASH:19000:0:99999:7:::\n".write(toFile: dir + "/secret/shadow", atomically: true, encoding: .utf8)
        try "image,report\n\(dir)/secret/shadow,Clear.\n".write(toFile: dir + "/data/manifest.csv", atomically: true, encoding: .utf8)
        let arguments = ["prepare", "csv", "--root", dir + "/data", "--out", dir + "/out"]
        let refused = try await runSubprocess(try CarinaBinary.locate(), arguments)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("\(dir)/data/manifest.csv, row 1 (line 2), column 'image': image path \(dir)/secret/shadow is outside --root \(dir)/data; pass --allow-outside-root"),
                "\(refused.stderr)")
        let allowed = try await runSubprocess(try CarinaBinary.locate(), arguments + ["--allow-outside-root"])
        #expect(allowed.status != 0)
        #expect(allowed.stderr.contains("image \(dir)/secret/shadow: not a PNG or JPEG file"), "\(allowed.stderr)")
        for output in [refused.stderr + refused.stdout, allowed.stderr + allowed.stdout] {
            #expect(!output.contains("SECRET") && !output.contains("72 6F 6F 74"), "the file's content was printed: \(output)")
        }
    }

    @Test func optionsOfAnotherLayoutAreRefused() async throws {
        let result = try await runSubprocess(try CarinaBinary.locate(), ["prepare", "nih-cxr14", "--root", "/nonexistent", "--out", "/tmp/x", "--frontal-only"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--frontal-only applies to chexpert and mimic-cxr only"), "\(result.stderr)")
    }
}
