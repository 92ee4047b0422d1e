// Tensors to zstd frames and back, on several threads: each tensor is cut into fixed-size chunks, each chunk
// (byte-shuffled or not) becomes one frame, so the bytes never depend on the thread count. Also the XXH64
// of each tensor. Not for: where the frames go in the file (CheckpointFile, CheckpointManifest).
import CarinaTensor
import Dispatch
import Synchronization

enum TensorFrames {
    /// One chunk of one tensor: raw bytes `start ..< start + count` of tensor `tensor`, frame `frame`.
    struct Chunk {
        var tensor: Int, frame: Int, start: Int, count: Int
    }

    /// The chunks of tensors with these raw sizes, tensor by tensor (an empty tensor has one empty chunk).
    static func chunks(rawBytes: [Int], chunkBytes: Int) -> [Chunk] {
        var out: [Chunk] = []
        for (t, size) in rawBytes.enumerated() {
            let frames = CheckpointManifest.frameCount(rawBytes: size, chunkBytes: chunkBytes)
            for k in 0..<frames {
                out.append(Chunk(tensor: t, frame: k, start: k * chunkBytes, count: min(chunkBytes, size - k * chunkBytes)))
            }
        }
        return out
    }

    /// The frames of every tensor (`frames[t][k]`) and each tensor's XXH64, computed on `threads` threads.
    static func compress(_ tensors: [Tensor], names: [String], level: Int, shuffle: Bool, chunkBytes: Int,
                         threads: Int, path: String) throws -> (frames: [[[UInt8]]], checksums: [UInt64]) {
        let rawBytes = tensors.map { $0.count * 4 }
        let chunks = chunks(rawBytes: rawBytes, chunkBytes: chunkBytes)
        // Jobs 0..<chunks.count compress a chunk; the rest checksum one tensor each.
        var output = [[UInt8]](repeating: [], count: chunks.count)
        var checksums = [UInt64](repeating: 0, count: tensors.count)
        try output.withUnsafeMutableBufferPointer { output in
            try checksums.withUnsafeMutableBufferPointer { checksums in
                let shared = UncheckedSendable((output, checksums))
                try parallel(chunks.count + tensors.count, threads: threads, scratchBytes: shuffle ? chunkBytes : 0,
                             state: { try Zstd.Compressor(level: level, context: path) }) { compressor, scratch, job in
                    if job >= chunks.count {
                        let t = tensors[job - chunks.count]
                        shared.value.1[job - chunks.count] = XXH64.hash(UnsafeRawBufferPointer(start: t.pointer, count: t.count * 4))
                        return
                    }
                    let c = chunks[job]
                    let raw = UnsafeRawPointer(tensors[c.tensor].pointer) + c.start
                    var input = UnsafeRawBufferPointer(start: raw, count: c.count)
                    if shuffle {
                        ByteShuffle.shuffle(raw, count: c.count / 4, into: scratch)
                        input = UnsafeRawBufferPointer(start: scratch, count: c.count)
                    }
                    do {
                        shared.value.0[job] = try compressor.compress(input, context: "\(path): tensor '\(names[c.tensor])'")
                    } catch {
                        throw CheckpointError.io(path: path, detail: "cannot compress tensor '\(names[c.tensor])': \(error)")
                    }
                }
            }
        }
        var frames = [[[UInt8]]](repeating: [], count: tensors.count)
        for (c, frame) in zip(chunks, output) { frames[c.tensor].append(frame) }
        return (frames, checksums)
    }

    /// Reads frame `k` of `e` from `file` (whose data section starts at `dataStart`) into `frameBuffer`,
    /// checks its XXH64, and decodes its `count` raw bytes into `destination`, through `scratch` when the
    /// tensor is byte-shuffled. Errors name the file, the tensor and the frame.
    static func decodeFrame(_ e: CheckpointManifest.Entry, _ k: Int, frameStart: Int, file: ReadOnlyFile, dataStart: Int,
                            decompressor: Zstd.Decompressor, frameBuffer: UnsafeMutableRawPointer, scratch: UnsafeMutableRawPointer,
                            destination: UnsafeMutableRawPointer, count: Int) throws {
        let length = e.frames[k]
        let location = "frame \(k + 1) of \(e.frames.count) (bytes \(frameStart)..<\(frameStart + length) after the manifest)"
        try file.read(at: dataStart + frameStart, into: UnsafeMutableRawBufferPointer(start: frameBuffer, count: length))
        let frame = UnsafeRawBufferPointer(start: frameBuffer, count: length)
        let digest = XXH64.hex(XXH64.hash(frame))
        guard digest == e.frameChecksums[k].lowercased() else {
            throw CheckpointError.corruptTensor(path: file.path, tensor: e.name, detail: "\(location): checksum mismatch (manifest says xxh64 "
                                                + "\(e.frameChecksums[k]), the stored bytes give \(digest))")
        }
        do {
            if e.byteShuffle {
                try decompressor.decompress(frame, into: UnsafeMutableRawBufferPointer(start: scratch, count: count), context: "zstd")
                ByteShuffle.unshuffle(scratch, count: count / 4, into: destination)
            } else {
                try decompressor.decompress(frame, into: UnsafeMutableRawBufferPointer(start: destination, count: count), context: "zstd")
            }
        } catch let CheckpointError.zstd(_, _, detail) {
            throw CheckpointError.corruptTensor(path: file.path, tensor: e.name, detail: "\(location): \(detail)")
        }
    }

    /// Where each frame of each entry starts, counted from the data section.
    static func frameStarts(_ entries: [CheckpointManifest.Entry]) -> [[Int]] {
        entries.map { e in
            var starts: [Int] = []
            var start = e.offset
            for length in e.frames {
                starts.append(start)
                start += length
            }
            return starts
        }
    }

    /// The longest stored frame of these entries: what a reader's frame buffer must hold.
    static func longestFrame(_ entries: [CheckpointManifest.Entry]) -> Int {
        entries.lazy.flatMap(\.frames).max() ?? 0
    }

    /// Decodes every entry's frames from `file` (data section at `dataStart`) into new tensors and checks
    /// each tensor's XXH64, on `threads` threads. The manifest has been validated against the file, so the
    /// tensors allocated are backed by frames the file holds; memory is the tensors plus, per thread, one
    /// frame and one chunk. The first damage in file order is the error thrown.
    static func decompress(_ entries: [CheckpointManifest.Entry], file: ReadOnlyFile, dataStart: Int, chunkBytes: Int,
                           threads: Int) throws -> [Tensor] {
        let tensors = entries.map { Tensor(uninitialized: $0.shape) }  // (shape as stored)
        let chunks = chunks(rawBytes: entries.map(\.rawBytes), chunkBytes: chunkBytes)
        let starts = frameStarts(entries)
        let longestFrame = TensorFrames.longestFrame(entries)
        let shuffled = entries.contains { $0.byteShuffle }
        try parallel(chunks.count, threads: threads, scratchBytes: longestFrame + (shuffled ? chunkBytes : 0),
                     state: { try Zstd.Decompressor(context: file.path) }) { decompressor, scratch, job in
            let c = chunks[job]
            try decodeFrame(entries[c.tensor], c.frame, frameStart: starts[c.tensor][c.frame], file: file, dataStart: dataStart,
                            decompressor: decompressor, frameBuffer: scratch, scratch: scratch + longestFrame,
                            destination: UnsafeMutableRawPointer(tensors[c.tensor].pointer) + c.start, count: c.count)
        }
        try parallel(entries.count, threads: threads, scratchBytes: 0, state: { () }) { _, _, t in
            let computed = XXH64.hash(UnsafeRawBufferPointer(start: tensors[t].pointer, count: entries[t].rawBytes))
            guard XXH64.hex(computed) == entries[t].checksum.lowercased() else {
                throw CheckpointError.corruptTensor(path: file.path, tensor: entries[t].name, detail: "checksum mismatch of the decoded values "
                                                    + "(manifest says xxh64 \(entries[t].checksum), the values give \(XXH64.hex(computed)))")
            }
        }
        return tensors
    }

    /// Checks every frame and every tensor's XXH64 as `decompress` does, without holding any tensor: frames
    /// are decoded `threads` at a time into fixed buffers and hashed in order, so memory stays at a few
    /// chunks per thread whatever the file's size.
    static func verify(_ entries: [CheckpointManifest.Entry], file: ReadOnlyFile, dataStart: Int, chunkBytes: Int, threads: Int) throws {
        let starts = frameStarts(entries)
        let longestFrame = TensorFrames.longestFrame(entries)
        let slots = max(1, threads)
        let slotBytes = longestFrame + 2 * chunkBytes
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(1, slots * slotBytes), alignment: 64)
        defer { memory.deallocate() }
        let decompressors = try (0..<slots).map { _ in try Zstd.Decompressor(context: file.path) }
        for (t, e) in entries.enumerated() {
            var hasher = XXH64.Streaming()
            var k = 0
            while k < e.frames.count {
                let window = min(slots, e.frames.count - k)
                let firstFrame = k
                var errors = [(any Error)?](repeating: nil, count: window)
                errors.withUnsafeMutableBufferPointer { errors in
                    let shared = UncheckedSendable(errors)
                    let decode = { (slot: Int) in
                        let frame = firstFrame + slot
                        let base = memory + slot * slotBytes
                        do {
                            try decodeFrame(e, frame, frameStart: starts[t][frame], file: file, dataStart: dataStart, decompressor: decompressors[slot],
                                            frameBuffer: base, scratch: base + longestFrame, destination: base + longestFrame + chunkBytes,
                                            count: CheckpointManifest.frameRawBytes(frame, rawBytes: e.rawBytes, chunkBytes: chunkBytes))
                        } catch {
                            shared.value[slot] = error
                        }
                    }
                    if window == 1 {
                        decode(0)
                    } else {
                        let box = UncheckedSendable(decode)
                        DispatchQueue.concurrentPerform(iterations: window) { box.value($0) }
                    }
                }
                if let first = errors.lazy.compactMap({ $0 }).first { throw first }
                for slot in 0..<window {
                    let count = CheckpointManifest.frameRawBytes(k + slot, rawBytes: e.rawBytes, chunkBytes: chunkBytes)
                    hasher.update(UnsafeRawBufferPointer(start: memory + slot * slotBytes + longestFrame + chunkBytes, count: count))
                }
                k += window
            }
            let computed = hasher.digest()
            guard XXH64.hex(computed) == e.checksum.lowercased() else {
                throw CheckpointError.corruptTensor(path: file.path, tensor: e.name, detail: "checksum mismatch of the decoded values "
                                                    + "(manifest says xxh64 \(e.checksum), the values give \(XXH64.hex(computed)))")
            }
        }
    }

    /// Runs `body(state, scratch, job)` for every job in `0..<count` on up to `threads` threads; each
    /// thread has its own `state` and `scratchBytes` of scratch memory and takes the next job as it goes.
    /// Rethrows the error of the lowest-numbered failing job, so the error does not depend on timing.
    static func parallel<State>(_ count: Int, threads: Int, scratchBytes: Int, state makeState: () throws -> State,
                                _ body: (inout State, UnsafeMutableRawPointer, Int) throws -> Void) throws {
        guard count > 0 else { return }
        let workers = max(1, min(threads, count))
        let next = Atomic<Int>(0)
        var errors = [(any Error)?](repeating: nil, count: count)
        try errors.withUnsafeMutableBufferPointer { errors in
            try withoutActuallyEscaping(body) { body in
                try withoutActuallyEscaping(makeState) { makeState in
                    let shared = UncheckedSendable((errors, body, makeState))
                    var setupError: (any Error)?
                    let setupFailure = UncheckedSendable(UnsafeMutablePointer<(any Error)?>.allocate(capacity: workers))
                    setupFailure.value.initialize(repeating: nil, count: workers)
                    defer { setupFailure.value.deallocate() }
                    let work = { (worker: Int) in
                        let scratch = UnsafeMutableRawPointer.allocate(byteCount: max(scratchBytes, 1), alignment: 64)
                        defer { scratch.deallocate() }
                        var state: State
                        do { state = try shared.value.2() } catch { setupFailure.value[worker] = error; return }
                        while true {
                            let job = next.wrappingAdd(1, ordering: .relaxed).oldValue
                            if job >= count { break }
                            do { try shared.value.1(&state, scratch, job) } catch { shared.value.0[job] = error }
                        }
                    }
                    if workers == 1 {
                        work(0)
                    } else {
                        let box = UncheckedSendable(work)
                        DispatchQueue.concurrentPerform(iterations: workers) { box.value($0) }
                    }
                    setupError = (0..<workers).lazy.compactMap { setupFailure.value[$0] }.first
                    if let setupError { throw setupError }
                }
            }
            if let first = errors.lazy.compactMap({ $0 }).first { throw first }
        }
    }
}
