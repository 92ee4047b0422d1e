// Samples written to shards read back identical (pixels, report, labels, patient, metadata), the files are
// byte-reproducible, readable by the system's tar, and concurrent random reads agree with sequential ones.
// Not for: damaged shards (ShardErrorTests) or importers (the *ImporterTests suites).

import Foundation
import Synchronization
import Testing
@testable import CarinaData

/// A small varied dataset: 8-bit and 16-bit gray, RGB, empty and non-ASCII reports, uncertain labels.
func fixtureSamples(_ count: Int = 7) throws -> [Sample] {
    try (0..<count).map { i in
        let image = try testImage(width: 20 + i, height: 16 + 2 * i, channels: i == 2 ? 3 : 1, sixteenBit: i % 3 == 1, seed: i)
        let report = i == 4 ? "" : "FINDINGS: Case \(i). No pneumothorax — opacité \(i * 7)%.\nIMPRESSION: Stable."
        var labels: [String: LabelValue] = ["Cardiomegaly": i % 2 == 0 ? 1 : 0, "Edema": i == 3 ? -1 : 0]
        if i == 5 { labels = [:] }
        if i == 6 { labels["Pneumothorax"] = 1 }
        return Sample(key: "case_\(i)-x", image: image, report: report, labels: labels,
                      patientID: i == 6 ? nil : "P\(i / 2)", metadata: ["view": i % 2 == 0 ? "PA" : "AP", "age": "\(40 + i)"])
    }
}

@Suite struct ShardRoundTripTests {
    @Test func samplesReadBackIdenticalAfterGrayscale() throws {
        let dir = try TemporaryDirectory("shards")
        defer { dir.remove() }
        let samples = try fixtureSamples()
        let writer = try ShardWriter(directory: dir.path, samplesPerShard: 3, imageSize: nil, name: "fixture")
        for sample in samples { try writer.write(sample) }
        let manifest = try writer.finish()
        #expect(manifest.sampleCount == 7)
        #expect(manifest.shards.map(\.file) == ["shard-000000.tar", "shard-000001.tar", "shard-000002.tar"])
        #expect(manifest.shards.map(\.samples) == [3, 3, 1])
        #expect(manifest.classNames == ["Cardiomegaly", "Edema", "Pneumothorax"])

        let dataset = try ShardDataset(directory: dir.path)
        #expect(dataset.count == 7)
        #expect(dataset.keys == samples.map(\.key))
        #expect(dataset.manifest == manifest)
        for (i, original) in samples.enumerated() {
            let read = try dataset.sample(at: i)
            var expected = original
            expected.image = original.image.grayscale()
            #expect(read == expected, "sample \(i)")
            #expect(read.image.bitDepth == original.image.bitDepth)
            // Labels alone, read from the JSON member without the image, and through the subset wrappers.
            #expect(try dataset.info(at: i) == SampleInfo(original), "sample \(i)")
            #expect(try ClassSubsetSource(dataset, classNames: ["Edema"]).info(at: i).labels == original.labels.filter { $0.key == "Edema" })
        }
        try dataset.verify()
        #expect(Set(SplitAssigner.names.flatMap { dataset.indices(split: $0) }) == Set(0..<7))
    }

    @Test func sameSamplesGiveByteIdenticalShards() throws {
        let (a, b) = (try TemporaryDirectory("shards-a"), try TemporaryDirectory("shards-b"))
        defer { a.remove(); b.remove() }
        for dir in [a, b] {
            let writer = try ShardWriter(directory: dir.path, samplesPerShard: 4, imageSize: .square(12), name: "same")
            for sample in try fixtureSamples() { try writer.write(sample) }
            _ = try writer.finish()
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: a.path).sorted()
        #expect(names == ["dataset.json", "shard-000000.idx", "shard-000000.tar", "shard-000001.idx", "shard-000001.tar"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: b.path).sorted() == names)
        for name in names {
            #expect(FileManager.default.contents(atPath: a.file(name)) == FileManager.default.contents(atPath: b.file(name)), "\(name)")
        }
        // A different sample changes the bytes and the content hash.
        var changed = try fixtureSamples()
        changed[1].report += " "
        let c = try TemporaryDirectory("shards-c")
        defer { c.remove() }
        let writer = try ShardWriter(directory: c.path, samplesPerShard: 4, imageSize: .square(12), name: "same")
        for sample in changed { try writer.write(sample) }
        #expect(try writer.finish().contentHash != (try DatasetManifest.read(directory: a.path)).contentHash)
    }

    @Test func resizedSamplesMatchTheResizer() throws {
        let dir = try TemporaryDirectory("shards-resize")
        defer { dir.remove() }
        let samples = try fixtureSamples(3)
        let writer = try ShardWriter(directory: dir.path, imageSize: .shortSide(10))
        for sample in samples { try writer.write(sample) }
        #expect(try writer.finish().imageSize == .shortSide(10))
        let dataset = try ShardDataset(directory: dir.path)
        for (i, sample) in samples.enumerated() {
            let read = try dataset.sample(at: i)
            #expect(read.image == (try sample.image.grayscale().resized(.shortSide(10))))
            #expect(min(read.image.width, read.image.height) == 10)
        }
    }

    @Test func systemTarListsAndExtractsTheMembers() throws {
        let tar = ["/usr/bin/tar", "/bin/tar"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let tar else { print("skipped: no tar on this machine"); return }
        let dir = try TemporaryDirectory("shards-tar")
        defer { dir.remove() }
        let writer = try ShardWriter(directory: dir.path + "/out", samplesPerShard: 10, imageSize: nil)
        let samples = try fixtureSamples(3)
        for sample in samples { try writer.write(sample) }
        _ = try writer.finish()
        let list = Process()
        list.executableURL = URL(fileURLWithPath: tar)
        list.arguments = ["-xf", dir.path + "/out/shard-000000.tar", "-C", dir.path]
        let errors = Pipe()
        list.standardError = errors
        try list.run()
        list.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(list.terminationStatus == 0, "tar: \(stderr)")
        #expect(stderr.isEmpty, "tar warned: \(stderr)")
        for sample in samples {
            let png = try Image.decode(contentsOf: dir.file(sample.key + ".png"))
            #expect(png == sample.image.grayscale())
            #expect(FileManager.default.contents(atPath: dir.file(sample.key + ".txt")) == Data(sample.report.utf8))
            let json = String(decoding: FileManager.default.contents(atPath: dir.file(sample.key + ".json")) ?? Data(), as: UTF8.self)
            #expect(json.hasPrefix("{\"labels\":{"), "\(json)")
        }
    }

    @Test func jsonMemberHasSortedKeys() throws {
        let sample = Sample(key: "k", image: try testImage(width: 2, height: 2), report: "r",
                            labels: ["b": 1, "a": 0, "c": -1], patientID: "p/1", metadata: ["z": "1", "m": "2"])
        let encoded = try ShardWriter.encode(sample, imageSize: nil)
        let text = String(decoding: try SampleJSON(sample).encoded(), as: UTF8.self)
        #expect(text == #"{"labels":{"a":0,"b":1,"c":-1},"metadata":{"m":"2","z":"1"},"patient_id":"p/1"}"#)
        #expect(encoded.key == "k")
    }

    @Test func concurrentRandomReadsEqualSequentialReads() throws {
        let dir = try TemporaryDirectory("shards-threads")
        defer { dir.remove() }
        let writer = try ShardWriter(directory: dir.path, samplesPerShard: 5, imageSize: nil)
        for i in 0..<40 {
            try writer.write(Sample(key: "s\(i)", image: try testImage(width: 24, height: 24, seed: i), report: "report \(i)",
                                    labels: ["A": Float(i % 2)], patientID: "p\(i / 3)"))
        }
        _ = try writer.finish()
        let dataset = try ShardDataset(directory: dir.path)
        let sequential = try (0..<40).map { try dataset.sample(at: $0) }
        let results = Mutex<[Int: Sample]>([:])
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for step in 0..<40 {
                let index = (step * 7 + worker * 13) % 40
                do {
                    let sample = try dataset.sample(at: index)
                    results.withLock { $0[index] = sample }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        #expect(failures.withLock { $0 } == [])
        for (index, sample) in results.withLock({ $0 }) { #expect(sample == sequential[index]) }
        #expect(dataset.index(ofKey: "s17") == 17)
    }
}
