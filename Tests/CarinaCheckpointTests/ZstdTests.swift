// zstd frames round-trip exactly, and a truncated, corrupted or mislabelled frame is an error, never garbage.
// Not for: the checkpoint file format built on these frames.

import Testing
import CarinaCheckpoint
import CarinaTensor

/// The bytes of `count` random normal floats (what checkpoint tensors look like to zstd).
private func randomFloatBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var rng = RNG(seed: seed)
    let floats = (0..<count).map { _ in rng.normal() }
    return floats.withUnsafeBytes { Array($0) }
}

/// The error decompressing `frame` throws, or nil when it decodes (without dumping the decoded bytes).
private func decompressionError(_ frame: [UInt8], expectedSize: Int, context: String) -> CheckpointError? {
    do {
        _ = try Zstd.decompress(frame, expectedSize: expectedSize, context: context)
        return nil
    } catch {
        return error as? CheckpointError
    }
}

@Suite struct ZstdTests {
    @Test(arguments: [1, 19])
    func zstdRoundTripOfRandomFloatsIsExact(level: Int) throws {
        let bytes = randomFloatBytes(50_000, seed: 7)
        let frame = try Zstd.compress(bytes, level: level)
        #expect(try Zstd.decompress(frame, expectedSize: bytes.count) == bytes)
    }

    @Test func compressibleDataShrinks() throws {
        let bytes = [UInt8](repeating: 42, count: 100_000)
        let frame = try Zstd.compress(bytes)
        #expect(frame.count < 100)
        #expect(try Zstd.decompress(frame, expectedSize: bytes.count) == bytes)
    }

    @Test func emptyBufferRoundTrips() throws {
        #expect(try Zstd.decompress(try Zstd.compress([UInt8]()), expectedSize: 0) == [])
    }

    @Test func truncatedZstdFrameIsAnError() throws {
        let bytes = randomFloatBytes(10_000, seed: 1)
        let frame = try Zstd.compress(bytes)
        for cut in [frame.count - 1, frame.count - 4, frame.count / 2, 20] {
            let error = decompressionError(Array(frame.prefix(cut)), expectedSize: bytes.count, context: "runs/a/step-9.ckpt")
            let text = error.map(String.init(describing:)) ?? "no error"
            #expect(text.hasPrefix("runs/a/step-9.ckpt: zstd decompress failed: "), "cut at \(cut) of \(frame.count)")
            #expect(text.contains("truncated"), "cut at \(cut) of \(frame.count): \(text)")
        }
    }

    @Test func corruptZstdFrameIsAnError() throws {
        // Random floats compress to mostly raw literals, where a flipped bit would decode to a wrong
        // value without complaint; the frame checksum must catch every such flip.
        let bytes = randomFloatBytes(10_000, seed: 2)
        let frame = try Zstd.compress(bytes)
        for position in stride(from: 20, to: frame.count, by: frame.count / 13) + [frame.count - 1] {
            var corrupt = frame
            corrupt[position] ^= 0x10
            let error = decompressionError(corrupt, expectedSize: bytes.count, context: "tensor encoder.w")
            #expect(error != nil, "flipped byte \(position) of \(frame.count) decoded without an error")
        }
    }

    @Test func bytesAfterTheFrameAreAnError() throws {
        let frame = try Zstd.compress(randomFloatBytes(100, seed: 4))
        let error = #expect(throws: CheckpointError.self) { try Zstd.decompress(frame + [0, 0, 0], expectedSize: 400, context: "t") }
        #expect(String(describing: error!).hasSuffix("3 bytes follow the \(frame.count)-byte frame"))
    }

    @Test func wrongExpectedSizeIsAnError() throws {
        let frame = try Zstd.compress(randomFloatBytes(100, seed: 3))
        let error = #expect(throws: CheckpointError.self) { try Zstd.decompress(frame, expectedSize: 399, context: "t") }
        #expect(String(describing: error!) == "t: zstd decompress failed: frame holds 400 bytes, expected 399")
    }

    @Test func notAFrameIsAnError() {
        #expect(throws: CheckpointError.self) { try Zstd.decompress(Array("plain text".utf8), expectedSize: 10) }
    }

    @Test func levelOutsideZstdsRangeIsAnError() {
        #expect(throws: CheckpointError.self) { try Zstd.compress([1, 2, 3], level: 1000) }
    }
}
