// Checkpoint and safetensors files crafted to crash, hang or exhaust memory (issue 11): each must be a thrown
// error naming the file, before anything sized by the file's claims is allocated, and resume must pass over
// it to the newest checkpoint that verifies. Not for: accidental damage (CheckpointDamageTests).
import CarinaCheckpoint
import CarinaTensor
import Foundation
import Testing

/// A checkpoint whose manifest is `edit`ed from a real one and whose data section is `data`, with the header's
/// length and both checksums recomputed, so every check before the edited field passes.
func forgedCheckpoint(_ path: String, data: [UInt8], edit: (inout [String: Any]) -> Void) throws {
    let real = path + ".real"
    try CheckpointFile.write(randomContents(step: 3), to: real)
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: real)))
    try FileManager.default.removeItem(atPath: real)
    let length = bytes[16..<24].enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
    var manifest = try #require(try JSONSerialization.jsonObject(with: Data(bytes[40..<(40 + length)])) as? [String: Any])
    // (JSONSerialization reads a seed near UInt64.max as a Double; the forged files need no such seed.)
    if var state = manifest["state"] as? [String: Any] {
        state["seed"] = 7
        manifest["state"] = state
    }
    edit(&manifest)
    let json = [UInt8](try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]))
    func le(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    var header = Array(bytes[0..<16]) + le(UInt64(json.count)) + le(XXH64.hash(json))
    header += le(XXH64.hash(header))
    try Data(header + json + data).write(to: URL(fileURLWithPath: path))
}

/// One model tensor of `shape` stored as `frames` (lengths) with `chunkBytes`; checksums well-formed but wrong.
func forgedTensor(shape: [Int], frames: [Int], chunkBytes: Int) -> (inout [String: Any]) -> Void {
    { manifest in
        let raw = shape.reduce(4, *)
        manifest["chunkBytes"] = chunkBytes
        manifest["tensors"] = [[
            "group": "model", "name": "forged", "shape": shape, "dtype": "F32", "offset": 0, "storedBytes": frames.reduce(0, +),
            "rawBytes": raw, "compression": "zstd", "byteShuffle": true, "frames": frames,
            "frameChecksums": [String](repeating: "0123456789abcdef", count: frames.count), "checksum": "0123456789abcdef",
        ] as [String: Any]]
    }
}

/// Runs `body` on its own thread and waits at most `seconds` (10x and more what it needs): a hang is a test
/// failure, not a test run that never ends.
func endsWithin<T>(_ seconds: Double, _ body: @escaping @Sendable () throws -> T) throws -> T {
    let box = ResultBox<T>(), done = DispatchSemaphore(value: 0)
    Thread { box.result = Result { try body() }; done.signal() }.start()
    guard done.wait(timeout: .now() + seconds) == .success, let result = box.result else {
        throw CheckpointError.unreadable(path: "(test)", detail: "did not end within \(seconds) s: a hang")
    }
    return try result.get()
}

final class ResultBox<T>: @unchecked Sendable { var result: Result<T, any Error>? }

/// Total memory of this machine from /proc/meminfo (bytes), or nil where there is none.
func machineMemory() -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
          let kib = Int(line.split(separator: " ")[1]) else { return nil }
    return kib * 1024
}

@Suite struct CheckpointHostileFileTests {
    @Test func aChunkSizeThatWouldOverflowOrExhaustMemoryIsRejected() throws {
        let dir = try temporaryDirectory()
        // The largest shape whose byte count fits an Int, in one chunk of 2^62 bytes: frame-count arithmetic
        // overflowed (a trap) before the chunk size was bounded.
        try forgedCheckpoint(dir + "/overflow.ckpt", data: [1], edit: forgedTensor(shape: [Int.max / 4], frames: [1], chunkBytes: 1 << 62))
        // 2.5 GiB chunks: each reading thread allocated a scratch buffer that size.
        try forgedCheckpoint(dir + "/scratch.ckpt", data: [UInt8](repeating: 0, count: 84_000),
                             edit: forgedTensor(shape: [671_088_640], frames: [84_000], chunkBytes: 2_684_354_560))
        for name in ["overflow", "scratch"] {
            let path = dir + "/\(name).ckpt"
            let message = try #require(errorText { _ = try CheckpointFile.read(path) })
            #expect(message.hasPrefix("checkpoint \(path): corrupt: manifest: chunk size ") && message.contains("at most 67108864 bytes"), "\(message)")
            #expect(errorText { _ = try CheckpointFile.verify(path) } == message)
        }
    }

    @Test func aSmallFileCannotAskForATerabyte() throws {
        let dir = try temporaryDirectory(), path = dir + "/tebibyte.ckpt"
        // 1 TiB of raw floats in 16384 frames of 64 MiB, each stored in 1 byte: no zstd frame of 1 byte holds 64 MiB.
        try forgedCheckpoint(path, data: [UInt8](repeating: 0, count: 16384),
                             edit: forgedTensor(shape: [1 << 38], frames: [Int](repeating: 1, count: 16384), chunkBytes: 64 << 20))
        let message = try #require(errorText { _ = try CheckpointFile.read(path) })
        #expect(message == "checkpoint \(path): corrupt: manifest: model tensor 'forged': frame 1 of 16384 is 1 bytes long, "
                + "impossible for a zstd frame of 67108864 raw bytes", "\(message)")
        // Longer than zstd's bound for its chunk is just as impossible.
        try forgedCheckpoint(path, data: [UInt8](repeating: 0, count: 200),
                             edit: forgedTensor(shape: [4], frames: [200], chunkBytes: 4 << 20))
        #expect(errorText { _ = try CheckpointFile.summary(path) }?.contains("frame 1 of 1 is 200 bytes long, impossible for a zstd frame of 16 raw bytes") == true)
    }

    @Test func aFileClaimingMoreThanTheMachineHasIsRefusedByReadAndVerifiedInBoundedMemory() throws {
        let memory = try #require(machineMemory(), "no /proc/meminfo")
        let dir = try temporaryDirectory(), path = dir + "/huge.ckpt"
        // Frames just long enough for their chunks (64 MiB in 2 KiB), together claiming twice this machine's memory.
        let frames = (2 * memory) / (64 << 20) + 1
        try forgedCheckpoint(path, data: [UInt8](repeating: 0, count: frames * 2048),
                             edit: forgedTensor(shape: [frames * (16 << 20)], frames: [Int](repeating: 2048, count: frames), chunkBytes: 64 << 20))
        let read = try #require(errorText { _ = try CheckpointFile.read(path) })
        #expect(read.hasPrefix("checkpoint \(path) is too large to read: its tensors need ") && read.contains("GiB of memory, this machine has"), "\(read)")
        // verify holds no tensor: it reads the first frame and finds its checksum wrong.
        let verify = try #require(errorText { _ = try CheckpointFile.verify(path) })
        #expect(verify.hasPrefix("checkpoint \(path): tensor 'forged' is corrupt: frame 1 of \(frames) (bytes 0..<2048 after the manifest): checksum mismatch"), "\(verify)")
    }

    @Test func aNamedPipeIsAnErrorNotAHang() throws {
        let dir = try temporaryDirectory()
        let store = try CheckpointStore(directory: dir)
        try store.save(randomContents(step: 1), step: 1)
        let pipe = dir + "/" + CheckpointStore.fileName(step: 2)
        #expect(mkfifo(pipe, 0o600) == 0)
        try "\(CheckpointStore.fileName(step: 2))\n".write(toFile: dir + "/latest", atomically: true, encoding: .utf8)
        let message = try #require(errorText { _ = try endsWithin(60) { try CheckpointFile.verify(pipe) } })
        #expect(message == "checkpoint \(pipe): unreadable: not a regular file (a named pipe)")
        // Resume passes over the pipe `latest` names to the newest checkpoint that verifies.
        var found = try #require(try endsWithin(60) { try store.latestValid() })
        #expect(found.contents.state.step == 1 && found.skipped.map(\.path) == [pipe] && found.skipped[0].reason == message)
        // And over a `latest` that is itself a pipe.
        try FileManager.default.removeItem(atPath: pipe)
        try FileManager.default.removeItem(atPath: dir + "/latest")
        #expect(mkfifo(dir + "/latest", 0o600) == 0)
        found = try #require(try endsWithin(60) { try store.latestValid() })
        #expect(found.contents.state.step == 1 && found.skipped.map(\.path) == [dir + "/latest"])
        #expect(found.skipped[0].reason == "checkpoint \(dir)/latest: unreadable: not a regular file (a named pipe)")
    }

    @Test func resumePassesOverEveryForgedFileToTheNewestThatVerifies() throws {
        let dir = try temporaryDirectory()
        let store = try CheckpointStore(directory: dir, keepLast: 10)
        try store.save(randomContents(step: 1), step: 1)
        try forgedCheckpoint(dir + "/" + CheckpointStore.fileName(step: 3), data: [1], edit: forgedTensor(shape: [Int.max / 4], frames: [1], chunkBytes: 1 << 62))
        try forgedCheckpoint(dir + "/" + CheckpointStore.fileName(step: 2), data: [UInt8](repeating: 0, count: 16384),
                             edit: forgedTensor(shape: [1 << 38], frames: [Int](repeating: 1, count: 16384), chunkBytes: 64 << 20))
        try CheckpointStore.fileName(step: 3).write(toFile: dir + "/latest", atomically: true, encoding: .utf8)
        let found = try #require(try store.latestValid())
        #expect(found.contents.state.step == 1 && found.skipped.count == 2)
        #expect(found.skipped.allSatisfy { $0.reason.contains(": corrupt: manifest: ") })
    }

    @Test func aCheckpointThatDoesNotFitTheModelIsNamedBeforeAnythingIsDecompressed() throws {
        let dir = try temporaryDirectory()
        let store = try CheckpointStore(directory: dir)
        let path = try store.save(randomContents(step: 1), step: 1)
        var model = randomContents(step: 1).model.map { (name: $0.name, shape: $0.tensor.shape) }
        #expect(try CheckpointFile.read(path, groups: ["model"], expecting: model).optimizer.isEmpty)
        model[0].shape = [17, 8]
        let message = "checkpoint \(path) does not fit: model tensor 'encoder.weight' has shape [16, 8] in the checkpoint but [17, 8] in the model being loaded"
        #expect(errorText { _ = try CheckpointFile.read(path, expecting: model) } == message)
        // Resume does not start afresh beside checkpoints that do not fit: it says why.
        #expect(errorText { _ = try store.latestValid(expecting: model) } == message)
    }

    @Test func streamingXXH64MatchesTheOneShotDigestForAnySplit() {
        var rng = RNG(seed: 5, "xxh64-stream")
        for length in [0, 1, 31, 32, 33, 64, 100, 1000] {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.nextUInt64()) }
            let whole = XXH64.hash(bytes)
            for pieces in 1...4 {
                var hasher = XXH64.Streaming()
                var start = 0
                for p in 0..<pieces {
                    let end = p == pieces - 1 ? length : min(length, start + Int(rng.nextUInt64() % UInt64(length + 1)))
                    bytes[start..<end].withUnsafeBytes { hasher.update($0) }
                    start = end
                }
                #expect(hasher.digest() == whole, "length \(length) in \(pieces) pieces")
            }
        }
    }

    @Test func safetensorsOffsetsThatOverflowOrSizesThatAreNotWholeNumbersAreRejected() throws {
        let dir = try temporaryDirectory()
        func write(_ header: String, data: [UInt8] = [], to name: String) throws -> String {
            var bytes = Array(header.utf8)
            while bytes.count % 8 != 0 { bytes.append(0x20) }
            let length = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bytes.count) >> (8 * $0)) }
            try Data(length + bytes + data).write(to: URL(fileURLWithPath: dir + "/" + name))
            return dir + "/" + name
        }
        // Offsets whose end is near Int.max: the data size added to the header's overflowed (a trap).
        let huge = try write("{\"a\":{\"dtype\":\"F32\",\"shape\":[\(Int.max / 4)],\"data_offsets\":[0,\(Int.max / 4 * 4)]}}", to: "huge.safetensors")
        #expect(errorText { _ = try SafeTensors.read(huge) } == "checkpoint \(huge): corrupt: safetensors: tensor 'a': needs dtype, shape and two data_offsets (whole numbers below 9e18)")
        // Below that bound, sizes the file does not hold are a truncation.
        let large = try write("{\"a\":{\"dtype\":\"F32\",\"shape\":[2000000000000000000],\"data_offsets\":[0,8000000000000000000]}}", to: "large.safetensors")
        #expect(errorText { _ = try SafeTensors.read(large) }?.hasPrefix("checkpoint \(large): truncated: safetensors: the tensors need 8000000000000000000 data bytes") == true)
        // A shape of a string and a number read as the number alone: a silently wrong shape.
        let text = try write("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\",3],\"data_offsets\":[0,12]}}", data: [UInt8](repeating: 0, count: 12), to: "text.safetensors")
        #expect(errorText { _ = try SafeTensors.read(text) } == "checkpoint \(text): corrupt: safetensors: tensor 'a': needs dtype, shape and two data_offsets (whole numbers below 9e18)")
        let pipe = dir + "/pipe.safetensors"
        #expect(mkfifo(pipe, 0o600) == 0)
        #expect(errorText { _ = try endsWithin(60) { try SafeTensors.read(pipe) } } == "checkpoint \(pipe): unreadable: not a regular file (a named pipe)")
    }
}
