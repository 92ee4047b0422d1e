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

    /// Decodes every entry's frames from `data` (the file's data section) into new tensors and checks each
    /// tensor's XXH64, on `threads` threads. The first damage in file order is the error thrown.
    static func decompress(_ entries: [CheckpointManifest.Entry], data: UnsafeRawBufferPointer, chunkBytes: Int,
                           threads: Int, path: String) throws -> [Tensor] {
        let tensors = entries.map { Tensor(uninitialized: $0.shape) }  // (shape as stored)
        let chunks = chunks(rawBytes: entries.map(\.rawBytes), chunkBytes: chunkBytes)
        let frameStarts: [[Int]] = entries.map { e in
            var starts: [Int] = []
            var start = e.offset
            for length in e.frames {
                starts.append(start)
                start += length
            }
            return starts
        }
        let shuffled = entries.contains { $0.byteShuffle }
        try parallel(chunks.count, threads: threads, scratchBytes: shuffled ? chunkBytes : 0,
                     state: { try Zstd.Decompressor(context: path) }) { decompressor, scratch, job in
            let c = chunks[job]
            let e = entries[c.tensor]
            let start = frameStarts[c.tensor][c.frame]
            let frame = UnsafeRawBufferPointer(rebasing: data[start..<(start + e.frames[c.frame])])
            let destination = UnsafeMutableRawPointer(tensors[c.tensor].pointer) + c.start
            let location = "frame \(c.frame + 1) of \(e.frames.count) (bytes \(start)..<\(start + e.frames[c.frame]) after the manifest)"
            let digest = XXH64.hex(XXH64.hash(frame))
            guard digest == e.frameChecksums[c.frame].lowercased() else {
                throw CheckpointError.corruptTensor(path: path, tensor: e.name, detail: "\(location): checksum mismatch (manifest says xxh64 "
                                                    + "\(e.frameChecksums[c.frame]), the stored bytes give \(digest))")
            }
            do {
                if e.byteShuffle {
                    try decompressor.decompress(frame, into: UnsafeMutableRawBufferPointer(start: scratch, count: c.count), context: "zstd")
                    ByteShuffle.unshuffle(scratch, count: c.count / 4, into: destination)
                } else {
                    try decompressor.decompress(frame, into: UnsafeMutableRawBufferPointer(start: destination, count: c.count), context: "zstd")
                }
            } catch let CheckpointError.zstd(_, _, detail) {
                throw CheckpointError.corruptTensor(path: path, tensor: e.name, detail: "\(location): \(detail)")
            }
        }
        try parallel(entries.count, threads: threads, scratchBytes: 0, state: { () }) { _, _, t in
            let computed = XXH64.hash(UnsafeRawBufferPointer(start: tensors[t].pointer, count: entries[t].rawBytes))
            guard XXH64.hex(computed) == entries[t].checksum.lowercased() else {
                throw CheckpointError.corruptTensor(path: path, tensor: entries[t].name, detail: "checksum mismatch of the decoded values "
                                                    + "(manifest says xxh64 \(entries[t].checksum), the values give \(XXH64.hex(computed)))")
            }
        }
        return tensors
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
