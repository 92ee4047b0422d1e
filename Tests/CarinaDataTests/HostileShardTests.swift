// Shards and dataset.json from someone else: a crafted file never crashes, hangs or sizes an allocation
// by a number it claims. Each case is a regression test of issue 11: shard paths leading out of the dataset
// folder, a shard or index that is a named pipe, counts and index numbers that do not fit the files, splits
// that overlap or point past the end, and tar member names that climb out of a folder.
// Not for: honest damage (a truncated shard, a bad checksum: ShardErrorTests).

import Foundation
import Testing
@testable import CarinaData

/// Seven fixture samples in three shards at `directory`, with known splits: train 0-3, valid 4-5, test 6.
private func writeDataset(_ directory: String) throws {
    let writer = try ShardWriter(directory: directory, samplesPerShard: 3, imageSize: nil)
    for sample in try fixtureSamples() { try writer.write(sample) }
    _ = try writer.finish()
    try editManifest(directory) { $0.splits = ["train": [0, 1, 2, 3], "valid": [4, 5], "test": [6]] }
}

/// Rewrites `directory/dataset.json` after `change`.
private func editManifest(_ directory: String, _ change: (inout DatasetManifest) -> Void) throws {
    var manifest = try DatasetManifest.read(directory: directory)
    change(&manifest)
    try Data(try manifest.encoded()).write(to: URL(fileURLWithPath: directory + "/" + DatasetManifest.fileName))
}

/// The description of the error opening `directory` throws ("" if it opens).
private func openError(_ directory: String, sourceLocation: SourceLocation = #_sourceLocation) -> String {
    let error = #expect(throws: DataError.self, sourceLocation: sourceLocation) { try ShardDataset(directory: directory) }
    return error.map { "\($0)" } ?? ""
}

@Suite struct HostileShardTests {
    @Test func shardPathsLeadingOutOfTheDatasetFolderAreRefused() throws {
        let root = try TemporaryDirectory("shard-escape")
        defer { root.remove() }
        let data = root.file("data"), manifest = data + "/dataset.json"
        try writeDataset(data)
        try FileManager.default.createDirectory(atPath: root.file("other"), withIntermediateDirectories: true)
        for name in ["shard-000000.tar", "shard-000000.idx"] {
            try FileManager.default.copyItem(atPath: data + "/" + name, toPath: root.file("other/" + name))
        }
        try editManifest(data) { $0.shards[0].file = "../other/shard-000000.tar" }
        let dotDot = openError(data)
        #expect(dotDot == "dataset \(manifest): shard 0 '../other/shard-000000.tar': the path contains '..'; shards must lie inside the dataset folder", "\(dotDot)")
        try editManifest(data) { $0.shards[0].file = root.file("other/shard-000000.tar") }
        #expect(openError(data).contains("shard 0 '\(root.file("other/shard-000000.tar"))': an absolute path"))
        try editManifest(data) { $0.shards[0].file = "shard-000000" }
        #expect(openError(data).contains("must end in .tar"))

        // A symbolic link inside the folder that leads out is reported with where it leads.
        try editManifest(data) { $0.shards[0].file = "shard-000000.tar" }
        try FileManager.default.removeItem(atPath: data + "/shard-000000.tar")
        try FileManager.default.createSymbolicLink(atPath: data + "/shard-000000.tar", withDestinationPath: "../other/shard-000000.tar")
        let link = openError(data)
        #expect(link.hasPrefix("dataset \(manifest): shard 0 'shard-000000.tar': \(data)/shard-000000.tar is a symbolic link"), "\(link)")
        #expect(link.contains("leads outside the dataset folder, to \(root.file("other/shard-000000.tar"))"), "\(link)")

        // A link that stays inside the folder is fine.
        try FileManager.default.removeItem(atPath: data + "/shard-000000.tar")
        try FileManager.default.copyItem(atPath: root.file("other/shard-000000.tar"), toPath: data + "/real-000000.tar")
        try FileManager.default.createSymbolicLink(atPath: data + "/shard-000000.tar", withDestinationPath: "real-000000.tar")
        #expect(try ShardDataset(directory: data).count == 7)
    }

    @Test func aShardOrIndexThatIsANamedPipeIsRefusedWithoutHanging() throws {
        for name in ["shard-000001.tar", "shard-000001.idx"] {
            let dir = try TemporaryDirectory("shard-fifo")
            defer { dir.remove() }
            try writeDataset(dir.path)
            try makeFIFO(at: dir.file(name))
            let path = dir.path
            // Opening takes milliseconds; a minute means it would wait for a writer forever.
            let text = outcome(within: 60) { _ = try ShardDataset(directory: path) }
            if text == nil { releaseFIFO(at: dir.file(name)) }
            let result = try #require(text, "opening a dataset whose \(name) is a named pipe hung")
            #expect(result.contains(dir.file(name)) && result.contains("not a regular file (a named pipe)"), "\(result)")
        }
    }

    @Test func countsThatDoNotFitTheShardsAreRefusedBeforeAnythingIsAllocated() throws {
        let dir = try TemporaryDirectory("shard-counts")
        defer { dir.remove() }
        try writeDataset(dir.path)
        let manifest = dir.file("dataset.json")
        try editManifest(dir.path) { $0.sampleCount = 1 << 60 }
        #expect(openError(dir.path) == "dataset \(manifest): sample_count is \(1 << 60) but the shards hold 7 samples")
        try editManifest(dir.path) { $0.sampleCount = 7; $0.shards[1].samples = Int.max / 2 }
        #expect(openError(dir.path).hasPrefix("dataset \(manifest): shard 1 'shard-000001.tar': \(Int.max / 2) samples cannot fit in "))
        try editManifest(dir.path) { $0.shards[1].samples = -3 }
        #expect(openError(dir.path).contains("shard 1 'shard-000001.tar': -3 samples cannot fit"))
    }

    @Test func indexNumbersThatWouldOverflowAreRefusedNamingTheLine() throws {
        let dir = try TemporaryDirectory("shard-overflow")
        defer { dir.remove() }
        try writeDataset(dir.path)
        let index = dir.file("shard-000000.idx")
        let lines = try String(contentsOfFile: index, encoding: .utf8).split(separator: "\n").map(String.init)
        let key = lines[0].split(separator: "\t")[0]
        let cases = [
            ("\(key)\t\(Int.max - 1023)\t10\t10\t10", "line 1: offset \(Int.max - 1023) is not a multiple of 512 at most \(ShardIndex.maxOffset)"),
            ("\(key)\t0\t\(Int.max - 100)\t10\t10", "line 1: member size \(Int.max - 100) is over the tar limit of \(ShardIndex.maxMemberSize) bytes"),
            ("\(key)\t0\t10\t10\t\(Int.max)", "line 1: member size \(Int.max) is over the tar limit"),
        ]
        for (line, problem) in cases {
            try ([line] + lines.dropFirst()).joined(separator: "\n").appending("\n").write(toFile: index, atomically: true, encoding: .utf8)
            let text = openError(dir.path)
            #expect(text.hasPrefix("shard \(index), member \(problem)"), "\(text)")
        }
    }

    @Test func indexKeysThatAreNotSampleKeysAreRefusedAtOpen() throws {
        let dir = try TemporaryDirectory("shard-keys")
        defer { dir.remove() }
        try writeDataset(dir.path)
        let index = dir.file("shard-000002.idx")
        let original = try String(contentsOfFile: index, encoding: .utf8)
        let numbers = original.split(separator: "\n")[0].split(separator: "\t").dropFirst().joined(separator: "\t")
        for key in ["../../etc/passwd", "/abs", "nul\u{0}key"] {
            try "\(key)\t\(numbers)\n".write(toFile: index, atomically: true, encoding: .utf8)
            let text = openError(dir.path)
            #expect(text.hasPrefix("shard \(index), member line 1: the key is not a valid sample key: the key contains '"), "\(text)")
        }
    }

    @Test func splitsThatOverlapRepeatOrPointPastTheEndAreRefusedAtOpen() throws {
        let dir = try TemporaryDirectory("shard-splits")
        defer { dir.remove() }
        try writeDataset(dir.path)
        #expect(try ShardDataset(directory: dir.path).indices(split: "valid") == [4, 5])
        let manifest = dir.file("dataset.json")
        let cases: [([String: [Int]], String)] = [
            (["train": [0, 1, 2, 3], "valid": [4, 9], "test": [6]], "split 'valid', entry 1: sample index 9 is outside 0..<7"),
            (["train": [0, 1, 2, 3], "valid": [-1], "test": [6]], "split 'valid', entry 0: sample index -1 is outside 0..<7"),
            (["train": [0, 1, 2, 3], "valid": [4, 4], "test": [6]], "split 'valid', entry 1: sample index 4 appears twice in the split"),
            (["train": [0, 1, 2, 3], "valid": [4, 5], "test": [6, 2]], "split 'test', entry 1: sample index 2 is also in split 'train'"),
        ]
        for (splits, problem) in cases {
            try editManifest(dir.path) { $0.splits = splits }
            #expect(openError(dir.path) == "dataset \(manifest): \(problem)")
        }
    }

    @Test func tarMemberNamesThatClimbOutOrHideBytesAreRefused() throws {
        let dir = try TemporaryDirectory("tar-names")
        defer { dir.remove() }
        let end = [UInt8](repeating: 0, count: 2 * TarHeader.blockSize)
        let cases = [("../evil.png", "contains a '..' component"), ("a/../../evil.png", "contains a '..' component"),
                     ("/etc/evil.png", "is an absolute path"), ("bad\u{1}name.png", "contains a control character")]
        for (i, (name, problem)) in cases.enumerated() {
            try dir.write(TarHeader.encode(name: name, size: 0) + end, to: "\(i).tar")
            let error = #expect(throws: DataError.self) { try TarReader.members(of: try ShardFile(path: dir.file("\(i).tar"))) }
            #expect("\(error!)" == "shard \(dir.file("\(i).tar")), member header at byte 0: member name \(name.debugDescription) \(problem)")
        }
        // "ok.png", NUL, then more name bytes that some readers would show and others not.
        var block = TarHeader.encode(name: "ok.png", size: 0)
        for (i, byte) in "/../x".utf8.enumerated() { block[7 + i] = byte }
        for i in 148..<156 { block[i] = 32 }
        let sum = Array(String(TarHeader.checksum(block), radix: 8).utf8)
        for i in 0..<6 { block[148 + i] = i < 6 - sum.count ? 48 : sum[i - (6 - sum.count)] }
        block[154] = 0
        try dir.write(block + end, to: "hidden.tar")
        let hidden = #expect(throws: DataError.self) { try TarReader.members(of: try ShardFile(path: dir.file("hidden.tar"))) }
        #expect("\(hidden!)".contains("has more bytes after a NUL inside its name field"), "\(hidden!)")
    }
}
