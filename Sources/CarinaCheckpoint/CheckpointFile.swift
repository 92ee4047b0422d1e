// The checkpoint file: a fixed header (magic, format version, manifest length and checksum), a JSON
// manifest (every tensor's group, name, shape, offsets, sizes and checksum; the run state), then one zstd
// frame per tensor (Float32 bytes split into 4 byte planes first, which compresses trained weights
// better). Written to a temporary file, fsynced, renamed and the directory fsynced, so a kill at any
// moment leaves either the old state or the complete new file. Not for: choosing which checkpoint to
// resume (CheckpointStore).
import CarinaTensor
import CZstd
import Foundation

public struct CheckpointSummary: Sendable {
    public struct Entry: Sendable {
        public let group: String, name: String, shape: [Int], rawBytes: Int, storedBytes: Int
    }
    public let path: String
    public let entries: [Entry]
    public let state: RunState
    public var rawBytes: Int { entries.reduce(0) { $0 + $1.rawBytes } }
    public var storedBytes: Int { entries.reduce(0) { $0 + $1.storedBytes } }
}

public enum CheckpointFile {
    static let magic: [UInt8] = Array("CARINACK".utf8)
    static let formatVersion: UInt32 = 1
    static let headerSize = 32

    struct Manifest: Codable {
        struct Entry: Codable {
            var group: String, name: String, shape: [Int], dtype: String
            var offset: Int, storedBytes: Int, rawBytes: Int
            /// FNV-1a 64 of the raw little-endian Float32 bytes, hex.
            var checksum: String
            var byteShuffle: Bool
        }
        var formatVersion: UInt32
        var compression: String
        var level: Int
        var created: String
        var state: RunState
        var tensors: [Entry]
    }

    // MARK: writing

    /// Writes `contents` to `path` atomically. `threads` compress tensors concurrently; the bytes written
    /// do not depend on it.
    public static func write(_ contents: CheckpointContents, to path: String, level: Int = 3, shuffle: Bool = true, threads: Int = 2) throws {
        let items = contents.model.map { ("model", $0.name, $0.tensor) } + contents.optimizer.map { ("optimizer", $0.name, $0.tensor) }
        var frames = [[UInt8]](repeating: [], count: items.count)
        var failures = [(any Error)?](repeating: nil, count: items.count)
        frames.withUnsafeMutableBufferPointer { out in
            failures.withUnsafeMutableBufferPointer { errs in
                let shared = UncheckedSendable((out, errs))
                let work = { (i: Int) in
                    let t = items[i].2
                    do {
                        let raw = UnsafeRawBufferPointer(start: t.pointer, count: t.count * 4)
                        let bytes = shuffle ? shuffled(raw) : Array(raw)
                        shared.value.0[i] = try bytes.withUnsafeBytes { try Zstd.compress($0, level: level, context: "\(path): \(items[i].1)") }
                    } catch {
                        shared.value.1[i] = error
                    }
                }
                if threads <= 1 { for i in items.indices { work(i) } } else {
                    let box = UncheckedSendable(work)
                    DispatchQueue.concurrentPerform(iterations: items.count) { box.value($0) }
                }
            }
        }
        if let error = failures.compactMap({ $0 }).first { throw error }
        var entries: [Manifest.Entry] = []
        var offset = 0
        for (i, (group, name, t)) in items.enumerated() {
            entries.append(Manifest.Entry(group: group, name: name, shape: t.shape, dtype: "F32", offset: offset, storedBytes: frames[i].count,
                                          rawBytes: t.count * 4, checksum: hex(fnv1a(UnsafeRawBufferPointer(start: t.pointer, count: t.count * 4))),
                                          byteShuffle: shuffle))
            offset += frames[i].count
        }
        let manifest = Manifest(formatVersion: formatVersion, compression: "zstd", level: level,
                                created: ISO8601DateFormatter().string(from: Date()), state: contents.state, tensors: entries)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let manifestBytes = [UInt8](try encoder.encode(manifest))
        var file = magic
        append(&file, formatVersion)
        append(&file, UInt64(manifestBytes.count))
        append(&file, fnv1a(manifestBytes))
        append(&file, UInt32(0))
        file += manifestBytes
        for f in frames { file += f }
        try AtomicFile.write(file, to: path)
    }

    // MARK: reading

    /// Reads and verifies every checksum; errors name the file and the tensor.
    public static func read(_ path: String) throws -> CheckpointContents {
        let (manifest, data, base) = try open(path)
        var model: [(String, Tensor)] = [], optimizer: [(String, Tensor)] = []
        for e in manifest.tensors {
            let t = try decode(e, data: data, base: base, path: path)
            if e.group == "model" { model.append((e.name, t)) } else { optimizer.append((e.name, t)) }
        }
        return CheckpointContents(model: model.map { (name: $0.0, tensor: $0.1) }, optimizer: optimizer.map { (name: $0.0, tensor: $0.1) },
                                  state: manifest.state)
    }

    /// Verifies every checksum and returns what the file holds.
    public static func verify(_ path: String) throws -> CheckpointSummary {
        let (manifest, data, base) = try open(path)
        for e in manifest.tensors { _ = try decode(e, data: data, base: base, path: path) }
        return CheckpointSummary(path: path, entries: manifest.tensors.map {
            CheckpointSummary.Entry(group: $0.group, name: $0.name, shape: $0.shape, rawBytes: $0.rawBytes, storedBytes: $0.storedBytes)
        }, state: manifest.state)
    }

    /// Copies a group's tensors into existing ones by name: a missing, extra or differently shaped tensor
    /// is an error naming it, both shapes and the file.
    public static func load(_ contents: [(name: String, tensor: Tensor)], into targets: [(name: String, tensor: Tensor)], path: String, group: String) throws {
        var stored = [String: Tensor]()
        for (name, t) in contents { stored[name] = t }
        for (name, target) in targets {
            guard let t = stored.removeValue(forKey: name) else {
                throw CheckpointError.mismatch(path: path, detail: "\(group) tensor '\(name)' \(target.shape) is not in the checkpoint")
            }
            guard t.shape == target.shape else {
                throw CheckpointError.mismatch(path: path, detail: "\(group) tensor '\(name)' has shape \(t.shape) in the checkpoint, \(target.shape) in the model")
            }
            target.assign(t)
        }
        if let extra = stored.keys.sorted().first {
            throw CheckpointError.mismatch(path: path, detail: "the checkpoint has \(group) tensor '\(extra)' that the model does not (\(stored.count) such)")
        }
    }

    static func open(_ path: String) throws -> (Manifest, Data, Int) {
        guard let data = FileManager.default.contents(atPath: path) else { throw CheckpointError.corrupt(path: path, detail: "cannot read the file") }
        guard data.count >= headerSize, Array(data.prefix(8)) == magic else {
            throw CheckpointError.corrupt(path: path, detail: data.count < headerSize ? "truncated header (\(data.count) bytes)" : "not a Carina checkpoint (bad magic)")
        }
        let version: UInt32 = read(data, 8), length = Int(read(data, 12) as UInt64), checksum: UInt64 = read(data, 20)
        guard (read(data, 28) as UInt32) == 0 else { throw CheckpointError.corrupt(path: path, detail: "corrupt header (reserved field set)") }
        guard version == formatVersion else { throw CheckpointError.corrupt(path: path, detail: "format version \(version), this Carina reads \(formatVersion)") }
        guard length > 0, headerSize + length <= data.count else {
            throw CheckpointError.corrupt(path: path, detail: "truncated: manifest of \(length) bytes, file has \(data.count)")
        }
        let manifestBytes = [UInt8](data[headerSize..<(headerSize + length)])
        guard fnv1a(manifestBytes) == checksum else { throw CheckpointError.corrupt(path: path, detail: "manifest checksum mismatch (corrupt manifest)") }
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: Data(manifestBytes)) } catch {
            throw CheckpointError.corrupt(path: path, detail: "unreadable manifest: \(error)")
        }
        let base = headerSize + length
        if let last = manifest.tensors.last, base + last.offset + last.storedBytes > data.count {
            throw CheckpointError.corrupt(path: path, detail: "truncated: tensor '\(last.name)' ends at byte \(base + last.offset + last.storedBytes), file has \(data.count)")
        }
        return (manifest, data, base)
    }

    static func decode(_ e: Manifest.Entry, data: Data, base: Int, path: String) throws -> Tensor {
        let count = e.shape.reduce(1, *)
        guard e.dtype == "F32", count * 4 == e.rawBytes else {
            throw CheckpointError.corrupt(path: path, detail: "tensor '\(e.name)': \(e.dtype) of \(e.rawBytes) bytes for shape \(e.shape)")
        }
        let start = base + e.offset
        guard start >= base, start + e.storedBytes <= data.count else {
            throw CheckpointError.corrupt(path: path, detail: "tensor '\(e.name)' lies outside the file (truncated)")
        }
        let raw: [UInt8]
        do {
            raw = try data[start..<(start + e.storedBytes)].withUnsafeBytes { try Zstd.decompress($0, expectedSize: e.rawBytes, context: "\(path): \(e.name)") }
        } catch {
            throw CheckpointError.corrupt(path: path, detail: "tensor '\(e.name)': \(error)")
        }
        let bytes = e.byteShuffle ? unshuffled(raw) : raw
        guard hex(bytes.withUnsafeBytes { fnv1a($0) }) == e.checksum else {
            throw CheckpointError.corrupt(path: path, detail: "tensor '\(e.name)': checksum mismatch")
        }
        let t = Tensor(uninitialized: e.shape)
        bytes.withUnsafeBytes { UnsafeMutableRawPointer(t.pointer).copyMemory(from: $0.baseAddress!, byteCount: e.rawBytes) }
        return t
    }

    // MARK: helpers

    /// Byte planes: all first bytes of the floats, then all second bytes, ...
    static func shuffled(_ raw: UnsafeRawBufferPointer) -> [UInt8] {
        let n = raw.count / 4
        var out = [UInt8](repeating: 0, count: raw.count)
        for i in 0..<n { for b in 0..<4 { out[b * n + i] = raw[i * 4 + b] } }
        return out
    }

    static func unshuffled(_ planes: [UInt8]) -> [UInt8] {
        let n = planes.count / 4
        var out = [UInt8](repeating: 0, count: planes.count)
        for i in 0..<n { for b in 0..<4 { out[i * 4 + b] = planes[b * n + i] } }
        return out
    }

    static func fnv1a(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }

    static func fnv1a(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { fnv1a($0) } }

    static func hex(_ v: UInt64) -> String { String(v, radix: 16) }

    static func append<T: FixedWidthInteger>(_ bytes: inout [UInt8], _ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    static func read<T: FixedWidthInteger>(_ data: Data, _ offset: Int) -> T {
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { dst in data.copyBytes(to: dst.bindMemory(to: UInt8.self), from: offset..<(offset + MemoryLayout<T>.size)) }
        return T(littleEndian: value)
    }
}

/// Durable replacement of a file: temporary file in the same directory, write, fsync, rename over the
/// target, fsync the directory.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        let temporary = (directory as NSString).appendingPathComponent(".\((path as NSString).lastPathComponent).tmp-\(getpid())")
        let fd = Foundation.open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw CheckpointError.io(path: temporary, detail: "cannot create: \(String(cString: strerror(errno)))") }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n <= 0 {
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                throw CheckpointError.io(path: temporary, detail: "write failed: \(reason)")
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(temporary)
            throw CheckpointError.io(path: temporary, detail: "fsync failed: \(reason)")
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CheckpointError.io(path: path, detail: "rename failed: \(reason)")
        }
        let dfd = Foundation.open(directory, O_RDONLY)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }
}
