// Damaged or unfinished shards are errors that name the shard file and the member; invalid samples are
// refused naming their key; a shard being written never appears under its final name until complete.
// Not for: intact round trips (ShardRoundTripTests).

import Foundation
import Testing
@testable import CarinaData

private func writeFixture(_ dir: TemporaryDirectory, samplesPerShard: Int = 3) throws -> [Sample] {
    let samples = try fixtureSamples()
    let writer = try ShardWriter(directory: dir.path, samplesPerShard: samplesPerShard, imageSize: nil)
    for sample in samples { try writer.write(sample) }
    _ = try writer.finish()
    return samples
}

/// Overwrites bytes of a file in place.
private func patch(_ path: String, at offset: Int, _ bytes: [UInt8]) throws {
    let handle = try #require(FileHandle(forUpdatingAtPath: path))
    try handle.seek(toOffset: UInt64(offset))
    try handle.write(contentsOf: Data(bytes))
    try handle.close()
}

@Suite struct ShardErrorTests {
    @Test func corruptHeaderChecksumNamesTheShardAndMember() throws {
        let dir = try TemporaryDirectory("shard-corrupt")
        defer { dir.remove() }
        let samples = try writeFixture(dir)
        let dataset = try ShardDataset(directory: dir.path)
        // Sample 4 is the second sample of shard 1: corrupt the mode field of its .txt member's header.
        let index = try ShardIndex.parse(String(contentsOfFile: dir.file("shard-000001.idx"), encoding: .utf8), file: "idx")
        try patch(dir.file("shard-000001.tar"), at: index[1].txtHeader + 100, Array("0000777".utf8))
        let error = #expect(throws: DataError.self) { try dataset.sample(at: 4) }
        let text = String(describing: error!)
        #expect(text.contains(dir.file("shard-000001.tar")), "\(text)")
        #expect(text.contains("member \(samples[4].key).txt"), "\(text)")
        #expect(text.contains("checksum"), "\(text)")
        // The neighbours still read, and the full check finds the same member.
        #expect(try dataset.sample(at: 3) == { var s = samples[3]; s.image = s.image.grayscale(); return s }())
        let verify = #expect(throws: DataError.self) { try dataset.verify() }
        #expect(String(describing: verify!).contains("\(samples[4].key).txt"))
    }

    @Test func readingASamplesInfoAloneChecksTheJSONMembersHeader() throws {
        let dir = try TemporaryDirectory("shard-labels")
        defer { dir.remove() }
        let samples = try writeFixture(dir)
        let dataset = try ShardDataset(directory: dir.path)
        let index = try ShardIndex.parse(String(contentsOfFile: dir.file("shard-000000.idx"), encoding: .utf8), file: "idx")
        try patch(dir.file("shard-000000.tar"), at: index[2].jsonHeader + 100, Array("0000777".utf8))
        let error = #expect(throws: DataError.self) { try dataset.info(at: 2) }
        let text = String(describing: error!)
        #expect(text.contains(dir.file("shard-000000.tar")) && text.contains("member \(samples[2].key).json") && text.contains("checksum"), "\(text)")
        #expect(try dataset.info(at: 1) == SampleInfo(samples[1]))
        #expect(throws: DataError.self) { try dataset.info(at: 7) }
    }

    @Test func truncatedShardMemberNamesTheShardAndKey() throws {
        let dir = try TemporaryDirectory("shard-truncated")
        defer { dir.remove() }
        let samples = try writeFixture(dir)
        let path = dir.file("shard-000000.tar")
        let index = try ShardIndex.parse(String(contentsOfFile: dir.file("shard-000000.idx"), encoding: .utf8), file: "idx")
        // Cut the shard in the middle of the third sample's PNG data.
        try FileHandle(forUpdatingAtPath: path)?.truncate(atOffset: UInt64(index[2].pngHeader + 512 + index[2].pngSize / 2))
        let walk = #expect(throws: DataError.self) { try TarReader.members(of: try ShardFile(path: path)) }
        #expect(String(describing: walk!) == "shard \(path), member \(samples[2].key).png: data truncated: \(index[2].pngSize) bytes expected, \(index[2].pngSize / 2) present")
        let open = #expect(throws: DataError.self) { try ShardDataset(directory: dir.path) }
        let text = String(describing: open!)
        #expect(text.contains(path) && text.contains("truncated"), "\(text)")
    }

    @Test func tarWithoutEndBlocksIsTruncated() throws {
        let dir = try TemporaryDirectory("shard-noend")
        defer { dir.remove() }
        _ = try writeFixture(dir)
        let path = dir.file("shard-000000.tar")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        try FileHandle(forUpdatingAtPath: path)?.truncate(atOffset: UInt64(size - 1024))
        let error = #expect(throws: DataError.self) { try TarReader.members(of: try ShardFile(path: path)) }
        #expect(String(describing: error!).contains("without the two zero blocks"))
    }

    @Test func missingManifestSaysPrepareDidNotFinish() throws {
        let dir = try TemporaryDirectory("shard-nomanifest")
        defer { dir.remove() }
        let writer = try ShardWriter(directory: dir.path, samplesPerShard: 2, imageSize: nil)
        for sample in try fixtureSamples(3) { try writer.write(sample) }
        // Not finished: shard 0 is complete, shard 1 only exists under its temporary name.
        #expect(FileManager.default.fileExists(atPath: dir.file("shard-000000.tar")))
        #expect(!FileManager.default.fileExists(atPath: dir.file("shard-000001.tar")))
        let partial = AtomicFile.temporaryPath(for: dir.file("shard-000001.tar"))
        #expect(FileManager.default.fileExists(atPath: partial))
        let error = #expect(throws: DataError.self) { try ShardDataset(directory: dir.path) }
        #expect(String(describing: error!).contains("dataset.json"))
        _ = try writer.finish()
        #expect(!FileManager.default.fileExists(atPath: partial))
        #expect(try ShardDataset(directory: dir.path).count == 3)
    }

    @Test func abandonedWriterLeavesNoPartialShard() throws {
        let dir = try TemporaryDirectory("shard-abandoned")
        defer { dir.remove() }
        do {
            let writer = try ShardWriter(directory: dir.path, samplesPerShard: 10, imageSize: nil)
            try writer.write(try fixtureSamples(1)[0])
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == [])
    }

    @Test func rewritingWithFewerSamplesRemovesStaleShards() throws {
        let dir = try TemporaryDirectory("shard-rewrite")
        defer { dir.remove() }
        _ = try writeFixture(dir, samplesPerShard: 2)  // 4 shards
        let writer = try ShardWriter(directory: dir.path, samplesPerShard: 2, imageSize: nil)
        for sample in try fixtureSamples(3) { try writer.write(sample) }
        _ = try writer.finish()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
                == ["dataset.json", "shard-000000.idx", "shard-000000.tar", "shard-000001.idx", "shard-000001.tar"])
        try ShardDataset(directory: dir.path).verify()
    }

    @Test func invalidSamplesAreRefusedNamingTheKey() throws {
        let dir = try TemporaryDirectory("shard-invalid")
        defer { dir.remove() }
        let image = try testImage(width: 4, height: 4)
        let writer = try ShardWriter(directory: dir.path, imageSize: nil, classNames: ["A", "B"])
        try writer.write(Sample(key: "ok", image: image, report: "", labels: ["A": 1]))
        let cases: [(Sample, String)] = [
            (Sample(key: "ok", image: image, report: ""), "sample 'ok': the key was already written"),
            (Sample(key: "a.b", image: image, report: ""), "sample 'a.b': the key contains '.'"),
            (Sample(key: "", image: image, report: ""), "the key is empty"),
            (Sample(key: "c", image: image, report: "", labels: ["C": 1]), "sample 'c': label 'C' is not one of the dataset's classes"),
            (Sample(key: "d", image: image, report: "", labels: ["A": .nan]), "sample 'd': label 'A' is nan"),
            (Sample(key: "e", image: image, report: "", metadata: ["split": "holdout"]), "official split 'holdout'"),
        ]
        for (sample, message) in cases {
            let error = #expect(throws: DataError.self) { try writer.write(sample) }
            #expect(String(describing: error!).contains(message), "\(String(describing: error!))")
        }
        #expect(try writer.finish().sampleCount == 1)
    }
}
