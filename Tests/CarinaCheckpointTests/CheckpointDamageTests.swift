// Every kind of damage to a checkpoint file is an error that names the file, and the tensor where the
// damage lies in one: flipped bytes in the header, the manifest or a tensor frame, truncation at any
// length, bytes appended. Not for: falling back to an older checkpoint (CheckpointStoreTests).
import CarinaCheckpoint
import CarinaTensor
import Foundation
import Testing

@Suite struct CheckpointDamageTests {
    /// A written checkpoint, its bytes, and where each region starts: (header end, manifest end).
    func written() throws -> (path: String, data: Data, manifestEnd: Int) {
        let path = try temporaryDirectory() + "/step-00000001.ckpt"
        try CheckpointFile.write(randomContents(step: 1, largeRows: 400), to: path, chunkBytes: 4096)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let length = (16..<24).reduce(0) { $0 | Int(data[$1]) << (8 * ($1 - 16)) }
        return (path, data, 40 + length)
    }

    /// The tensor whose frames hold data-section byte `offset`.
    func tensor(atDataOffset offset: Int, _ summary: CheckpointSummary) -> String {
        var start = 0
        for e in summary.entries {
            if offset < start + e.storedBytes { return e.name }
            start += e.storedBytes
        }
        return "none"
    }

    @Test func aFlippedByteInATensorFrameNamesTheFileAndTensor() throws {
        let (path, data, manifestEnd) = try written()
        let summary = try CheckpointFile.verify(path)
        for offset in stride(from: manifestEnd, to: data.count, by: (data.count - manifestEnd) / 120) {
            try data.flipping(offset).write(to: URL(fileURLWithPath: path))
            let text = errorText { _ = try CheckpointFile.read(path) } ?? "no error"
            let name = tensor(atDataOffset: offset - manifestEnd, summary)
            #expect(text.hasPrefix("checkpoint \(path): tensor '\(name)' is corrupt: "), "byte \(offset): \(text)")
            #expect(errorText { _ = try CheckpointFile.verify(path) } == text)
        }
    }

    @Test func aFlippedByteInTheManifestIsCaughtBeforeParsing() throws {
        let (path, data, manifestEnd) = try written()
        for offset in stride(from: 40, to: manifestEnd, by: 7) {
            try data.flipping(offset, 0x01).write(to: URL(fileURLWithPath: path))
            let text = errorText { _ = try CheckpointFile.read(path) } ?? "no error"
            #expect(text.hasPrefix("checkpoint \(path): corrupt: manifest checksum mismatch"), "byte \(offset): \(text)")
        }
    }

    @Test func aFlippedByteInTheHeaderIsCaught() throws {
        let (path, data, _) = try written()
        for offset in 0..<40 {
            try data.flipping(offset, 0x04).write(to: URL(fileURLWithPath: path))
            let text = errorText { _ = try CheckpointFile.summary(path) } ?? "no error"
            let expected = offset < 8 ? "not a Carina checkpoint" : "header checksum mismatch"  // it covers the manifest checksum too
            #expect(text.hasPrefix("checkpoint \(path): corrupt: \(expected)"), "byte \(offset): \(text)")
        }
    }

    @Test func truncationAtAnyLengthIsReportedAsTruncation() throws {
        let (path, data, manifestEnd) = try written()
        let summary = try CheckpointFile.verify(path)
        var lengths = Array(0..<48) + Array(stride(from: 48, to: data.count, by: data.count / 150)) + [manifestEnd - 1, manifestEnd, data.count - 1]
        lengths.removeAll { $0 >= data.count }
        for length in lengths {
            try data.prefix(length).write(to: URL(fileURLWithPath: path))
            let text = errorText { _ = try CheckpointFile.read(path) } ?? "no error"
            #expect(text.hasPrefix("checkpoint \(path): truncated: "), "length \(length): \(text)")
            if length >= manifestEnd {
                #expect(text.contains("tensor '\(tensor(atDataOffset: length - manifestEnd, summary))'"), "length \(length): \(text)")
            }
        }
    }

    @Test func bytesAfterTheLastTensorAreCorruption() throws {
        let (path, data, _) = try written()
        try (data + Data([0, 0, 0])).write(to: URL(fileURLWithPath: path))
        #expect(errorText { _ = try CheckpointFile.read(path) } == "checkpoint \(path): corrupt: 3 unexpected bytes after the last tensor")
    }

    @Test func aMissingFileOrDirectoryIsUnreadable() throws {
        let dir = try temporaryDirectory()
        #expect(errorText { _ = try CheckpointFile.read(dir + "/none.ckpt") } == "checkpoint \(dir)/none.ckpt: unreadable: No such file or directory")
        #expect(errorText { _ = try CheckpointFile.read(dir) } == "checkpoint \(dir): unreadable: not a regular file (a directory)")
    }

    @Test func aChecksumMismatchIsCaughtEvenWhenZstdDecodesCleanly() throws {
        // Rewrite the manifest's checksum of one tensor (and the manifest and header checksums to match):
        // only the per-tensor XXH64 can catch that the values are not the ones that were saved.
        let (path, data, manifestEnd) = try written()
        var manifest = String(decoding: data[40..<manifestEnd], as: UTF8.self)
        let summary = try CheckpointFile.verify(path)
        let bias = summary.entries.first { $0.name == "encoder.bias" }!
        manifest = manifest.replacingOccurrences(of: bias.checksum, with: String(bias.checksum.reversed()))
        let manifestBytes = Array(manifest.utf8)
        var header = Array(data[0..<16])
        withUnsafeBytes(of: UInt64(manifestBytes.count).littleEndian) { header += $0 }
        withUnsafeBytes(of: XXH64.hash(manifestBytes).littleEndian) { header += $0 }
        withUnsafeBytes(of: XXH64.hash(header).littleEndian) { header += $0 }
        try Data(header + manifestBytes + data[manifestEnd...]).write(to: URL(fileURLWithPath: path))
        let text = errorText { _ = try CheckpointFile.read(path) } ?? "no error"
        #expect(text.hasPrefix("checkpoint \(path): tensor 'encoder.bias' is corrupt: checksum mismatch"), "\(text)")
    }
}
