// The checkpoint file round-trips tensors and run state bit for bit, whatever the compression settings,
// and its bytes do not depend on the number of threads. Not for: damage (CheckpointDamageTests) or loading
// into a model (CheckpointLoadTests).
import CarinaCheckpoint
import CarinaTensor
import Foundation
import Testing

@Suite struct CheckpointFileTests {
    @Test(arguments: [(shuffle: true, level: 3), (shuffle: false, level: 3), (shuffle: true, level: 9), (shuffle: false, level: -5)])
    func roundTripIsBitIdentical(_ settings: (shuffle: Bool, level: Int)) throws {
        let path = try temporaryDirectory() + "/a.ckpt"
        let original = randomContents(step: 3, largeRows: 700)  // 700 x 8 floats: several 4 KiB chunks
        // Values zstd and the shuffle must not touch: NaN payloads, infinities, -0, subnormals.
        for (i, pattern) in [UInt32(0x7FC0_1234), 0xFF80_0000, 0x7F80_0000, 0x8000_0000, 0x0000_0001].enumerated() {
            original.model[0].tensor.pointer[i] = Float(bitPattern: pattern)
        }
        try CheckpointFile.write(original, to: path, level: settings.level, shuffle: settings.shuffle, chunkBytes: 4096)
        let read = try CheckpointFile.read(path)
        #expect(identical(read, original))
        #expect(read.model.map(\.tensor.name) == original.model.map(\.name))
        let summary = try CheckpointFile.verify(path)
        #expect(summary.entries.map(\.name) == original.model.map(\.name) + original.optimizer.map(\.name))
        #expect(summary.entries.first?.frames == 6 && summary.entries.allSatisfy { $0.byteShuffle == settings.shuffle && $0.dtype == "F32" })
        #expect(summary.rawBytes == (original.model + original.optimizer).reduce(0) { $0 + $1.tensor.count * 4 })
        #expect(summary.state == original.state && summary.compressionLevel == settings.level)
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        #expect(summary.fileBytes == size && summary.storedBytes < size)
    }

    @Test func bytesDoNotDependOnTheThreadCount() throws {
        let dir = try temporaryDirectory()
        let contents = randomContents(step: 5, largeRows: 3000)
        let created = Date(timeIntervalSince1970: 1_800_000_000)
        var files: [Data] = []
        for threads in [1, 2, 3, 8] {
            let path = "\(dir)/t\(threads).ckpt"
            try CheckpointFile.write(contents, to: path, threads: threads, chunkBytes: 8192, created: created)
            files.append(try Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(identical(try CheckpointFile.read(path, threads: threads), contents))
        }
        #expect(files.allSatisfy { $0 == files[0] } && files[0].count > 40_000)
    }

    @Test func summaryReadsTheManifestAlone() throws {
        let path = try temporaryDirectory() + "/a.ckpt"
        let contents = randomContents(step: 7, largeRows: 300)
        try CheckpointFile.write(contents, to: path, chunkBytes: 4096)
        let full = try CheckpointFile.verify(path)
        // Damage a tensor: the summary, which reads no tensor, still works; verify does not.
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.flipping(data.count - 30).write(to: URL(fileURLWithPath: path))
        let quick = try CheckpointFile.summary(path)
        #expect(quick.entries == full.entries && quick.state == full.state && quick.created == full.created)
        #expect(throws: CheckpointError.self) { try CheckpointFile.verify(path) }
    }

    @Test func duplicateNamesAreRefusedOnWrite() throws {
        let path = try temporaryDirectory() + "/a.ckpt"
        var contents = randomContents(step: 1)
        contents.model.append(("encoder.bias", Tensor.zeros([2])))
        let text = errorText { try CheckpointFile.write(contents, to: path) }
        #expect(text?.contains("two model tensors are named 'encoder.bias'") == true, "\(text ?? "no error")")
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func writingLeavesNoTemporaryFile() throws {
        let dir = try temporaryDirectory()
        try CheckpointFile.write(randomContents(step: 1), to: dir + "/a.ckpt")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["a.ckpt"])
    }
}
