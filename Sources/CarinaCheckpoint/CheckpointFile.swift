// The checkpoint file: a fixed header (magic, format version, manifest length and checksums), a JSON manifest
// (every tensor's group, name, shape, frames and XXH64; the run state), then each tensor as zstd frames of
// fixed-size chunks, byte-shuffled by default. Written atomically (AtomicFile). Not for: choosing which
// checkpoint to resume (CheckpointStore). The layout is documented in docs/checkpoint-format.md.
import CarinaData
import CarinaTensor
import Foundation

public enum CheckpointFile {
    /// Raw bytes per zstd frame: large enough that zstd loses nothing measurable, small enough that a
    /// large tensor spreads over threads.
    public static let defaultChunkBytes = 4 << 20

    // MARK: writing

    /// Writes `contents` to `path` atomically: a temporary file in the same directory, fsync, rename,
    /// directory fsync. `threads` compress chunks concurrently; the bytes written do not depend on it.
    /// `shuffle` splits each chunk into byte planes first (smaller files for trained weights).
    public static func write(_ contents: CheckpointContents, to path: String, level: Int = 3, shuffle: Bool = true, threads: Int = 2,
                             chunkBytes: Int = defaultChunkBytes, created: Date = Date()) throws {
        let parts = try encode(contents, path: path, level: level, shuffle: shuffle, threads: threads, chunkBytes: chunkBytes, created: created)
        try CheckpointError.writing { try AtomicFile.write(parts, to: path) }
    }

    /// The bytes `write` would put in a file, as consecutive parts (header, manifest, then every frame),
    /// without touching the disk; `path` only names the file in errors.
    public static func encode(_ contents: CheckpointContents, path: String, level: Int = 3, shuffle: Bool = true, threads: Int = 2,
                              chunkBytes: Int = defaultChunkBytes, created: Date = Date()) throws -> [[UInt8]] {
        guard chunkBytes > 0, chunkBytes % 4 == 0 else {
            throw CheckpointError.io(path: path, detail: "cannot write: chunk size \(chunkBytes) is not a positive multiple of 4")
        }
        let items = contents.model.map { ("model", $0.name, $0.tensor) } + contents.optimizer.map { ("optimizer", $0.name, $0.tensor) }
        var seen: Set<String> = []
        for (group, name, _) in items where !seen.insert(group + "\u{0}" + name).inserted {
            throw CheckpointError.io(path: path, detail: "cannot write: two \(group) tensors are named '\(name)'")
        }
        let (frames, checksums) = try TensorFrames.compress(items.map(\.2), names: items.map(\.1), level: level, shuffle: shuffle,
                                                            chunkBytes: chunkBytes, threads: threads, path: path)
        var entries: [CheckpointManifest.Entry] = []
        var offset = 0
        for (i, (group, name, t)) in items.enumerated() {
            let lengths = frames[i].map(\.count)
            let stored = lengths.reduce(0, +)
            entries.append(.init(group: group, name: name, shape: t.shape, dtype: "F32", offset: offset, storedBytes: stored,
                                 rawBytes: t.count * 4, compression: "zstd", byteShuffle: shuffle, frames: lengths,
                                 frameChecksums: frames[i].map { XXH64.hex(XXH64.hash($0)) }, checksum: XXH64.hex(checksums[i])))
            offset += stored
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let manifest = CheckpointManifest(formatVersion: Int(CheckpointHeader.formatVersion), created: formatter.string(from: created),
                                          checksum: "xxh64", level: level, chunkBytes: chunkBytes, state: contents.state, tensors: entries)
        let manifestBytes = try manifest.encoded()
        let header = CheckpointHeader(manifestLength: manifestBytes.count, manifestChecksum: XXH64.hash(manifestBytes))
        return [header.encoded(), manifestBytes] + frames.flatMap { $0 }
    }

    // MARK: reading

    /// Reads every tensor of `groups` and the run state, checking the header, the manifest and every frame and
    /// tensor checksum; a damaged or truncated file is an error naming the file and, where it lies in one, the
    /// tensor. With `expecting`, the file's model group must hold exactly those names and shapes: compared
    /// against the manifest before anything is decompressed or allocated (a mismatch names the tensor).
    public static func read(_ path: String, threads: Int = 2, groups: Set<String> = ["model", "optimizer"],
                            expecting model: [(name: String, shape: [Int])]? = nil) throws -> CheckpointContents {
        let (manifest, file, dataStart) = try open(path)
        if let model { try check(manifest, against: model, path: path) }
        let entries = manifest.tensors.filter { groups.contains($0.group) }
        // The frames bound every size by the file's own length; this bounds it by the machine, so a file that
        // claims more than could ever be allocated is an error rather than an abort.
        let needed = entries.reduce(0) { $0 + $1.rawBytes }
        guard needed <= PhysicalMemory.bytes else {
            throw CheckpointError.tooLarge(path: path, detail: "its tensors need \(PhysicalMemory.gib(needed)) of memory, this machine has \(PhysicalMemory.gib(PhysicalMemory.bytes))")
        }
        let tensors = try TensorFrames.decompress(entries, file: file, dataStart: dataStart, chunkBytes: manifest.chunkBytes, threads: threads)
        var contents = CheckpointContents(model: [], optimizer: [], state: manifest.state)
        for (e, t) in zip(entries, tensors) {
            t.name = e.name
            if e.group == "model" { contents.model.append((e.name, t)) } else { contents.optimizer.append((e.name, t)) }
        }
        return contents
    }

    /// Checks everything `read` checks and returns what the file holds, in memory bounded by a few chunks per
    /// thread whatever the file claims (no tensor is held).
    public static func verify(_ path: String, threads: Int = 2) throws -> CheckpointSummary {
        let (manifest, file, dataStart) = try open(path)
        try TensorFrames.verify(manifest.tensors, file: file, dataStart: dataStart, chunkBytes: manifest.chunkBytes, threads: threads)
        return CheckpointSummary(path: path, manifest: manifest, fileBytes: file.size)
    }

    /// The header and manifest only (checked, but no tensor is read): fast on large files.
    public static func summary(_ path: String) throws -> CheckpointSummary {
        let (manifest, file, _) = try open(path)
        return CheckpointSummary(path: path, manifest: manifest, fileBytes: file.size)
    }

    /// Reads and checks the header and manifest; returns them with the open file and where its data starts.
    static func open(_ path: String) throws -> (CheckpointManifest, ReadOnlyFile, Int) {
        let file = try ReadOnlyFile(path: path)
        let magic = CheckpointHeader.magic
        guard file.size >= CheckpointHeader.size else {
            let head = try file.bytes(at: 0, count: min(file.size, magic.count))
            if head != Array(magic.prefix(head.count)) {
                throw CheckpointError.corrupt(path: path, detail: "not a Carina checkpoint (the file does not start with \"CARINACK\")")
            }
            throw CheckpointError.truncated(path: path, detail: "the file has \(file.size) bytes, less than the \(CheckpointHeader.size)-byte header")
        }
        let header = try file.bytes(at: 0, count: CheckpointHeader.size).withUnsafeBytes { try CheckpointHeader(parsing: $0, path: path) }
        let end = CheckpointHeader.size + header.manifestLength  // the length is at most 1 GiB
        guard end <= file.size else {
            throw CheckpointError.truncated(path: path, detail: "the manifest needs bytes \(CheckpointHeader.size)..<\(end), the file has \(file.size)")
        }
        let manifestBytes = try file.bytes(at: CheckpointHeader.size, count: header.manifestLength)
        let manifest = try manifestBytes.withUnsafeBytes { bytes in
            let computed = XXH64.hash(bytes)
            guard computed == header.manifestChecksum else {
                throw CheckpointError.corrupt(path: path, detail: "manifest checksum mismatch (header says xxh64 \(XXH64.hex(header.manifestChecksum)), "
                                              + "the manifest gives \(XXH64.hex(computed)))")
            }
            return try CheckpointManifest.decode(bytes, path: path, dataBytes: file.size - end)
        }
        return (manifest, file, end)
    }

    /// The model group of `manifest` against the names and shapes a model has, before any tensor is read.
    static func check(_ manifest: CheckpointManifest, against model: [(name: String, shape: [Int])], path: String) throws {
        func fail(_ detail: String) -> CheckpointError { .mismatch(path: path, detail: detail) }
        var stored: [String: [Int]] = [:]
        for e in manifest.tensors where e.group == "model" { stored[e.name] = e.shape }
        var names: Set<String> = []
        for (name, shape) in model {
            names.insert(name)
            guard let found = stored[name] else { throw fail("model tensor '\(name)' (shape \(shape)) is missing from the checkpoint") }
            guard found == shape else {
                throw fail("model tensor '\(name)' has shape \(found) in the checkpoint but \(shape) in the model being loaded")
            }
        }
        let extra = manifest.tensors.filter { $0.group == "model" && !names.contains($0.name) }
        if let first = extra.first {
            throw fail("the checkpoint has model tensor '\(first.name)' (shape \(first.shape)) that the model being loaded does not"
                       + (extra.count > 1 ? " (\(extra.count) such tensors)" : ""))
        }
    }

    // MARK: loading into a model

    /// Reads the checkpoint at `path` and copies its `group` ("model" or "optimizer") into the existing
    /// tensors `named`, by name. Nothing is copied unless every tensor matches: a tensor missing from the
    /// file, one the file has but `named` lacks, or a shape mismatch is an error naming the tensor, both
    /// shapes and the file.
    public static func load(_ path: String, into named: [(name: String, tensor: Tensor)], group: String, threads: Int = 2) throws {
        guard CheckpointManifest.groups.contains(group) else {
            throw CheckpointError.mismatch(path: path, detail: "no group '\(group)' (a checkpoint holds model and optimizer)")
        }
        let contents = try read(path, threads: threads)
        try load(group == "model" ? contents.model : contents.optimizer, into: named, path: path, group: group)
    }

    /// Copies tensors already read from the checkpoint at `path` into `targets` by name, with the checks
    /// of `load(_:into:group:)`: all or nothing.
    public static func load(_ stored: [(name: String, tensor: Tensor)], into targets: [(name: String, tensor: Tensor)], path: String, group: String) throws {
        func fail(_ detail: String) -> CheckpointError { .mismatch(path: path, detail: detail) }
        var byName: [String: Tensor] = [:]
        for (name, t) in stored { byName[name] = t }
        var pairs: [(source: Tensor, target: Tensor)] = []
        var targetNames: Set<String> = []
        for (name, target) in targets {
            guard targetNames.insert(name).inserted else { throw fail("the \(group) being loaded has two tensors named '\(name)'") }
            guard let source = byName[name] else {
                throw fail("\(group) tensor '\(name)' (shape \(target.shape)) is missing from the checkpoint")
            }
            guard source.shape == target.shape else {
                throw fail("\(group) tensor '\(name)' has shape \(source.shape) in the checkpoint but \(target.shape) in the \(group) being loaded")
            }
            pairs.append((source, target))
        }
        let extra = stored.filter { !targetNames.contains($0.name) }
        if let first = extra.first {
            throw fail("the checkpoint has \(group) tensor '\(first.name)' (shape \(first.tensor.shape)) that the \(group) being loaded does not"
                       + (extra.count > 1 ? " (\(extra.count) such tensors: \(extra.prefix(5).map { "'\($0.name)'" }.joined(separator: ", "))\(extra.count > 5 ? ", ..." : ""))" : ""))
        }
        for (source, target) in pairs { target.assign(source) }
    }
}
