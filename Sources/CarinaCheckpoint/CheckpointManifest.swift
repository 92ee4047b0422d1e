// The self-describing part of a checkpoint file: the fixed 40-byte header and the JSON manifest, how they
// are encoded, and every check made on them before a tensor byte is trusted. Not for: the tensor frames
// (TensorFrames) or the public read/write calls (CheckpointFile). The layout is in docs/checkpoint-format.md.
import CZstd
import Foundation

/// The fixed header, all integers little-endian:
///
///     offset size field
///          0    8 magic "CARINACK"
///          8    4 format version (2)
///         12    4 reserved, 0
///         16    8 manifest length in bytes (the JSON that follows the header)
///         24    8 XXH64 of the manifest bytes
///         32    8 XXH64 of header bytes 0..<32
///
/// Its own checksum lets a damaged length field be told from a truncated file before anything is parsed.
struct CheckpointHeader: Equatable {
    static let magic: [UInt8] = Array("CARINACK".utf8)
    static let size = 40
    /// 1 was the first layout on main (32-byte header, FNV-1a, one frame per tensor).
    static let formatVersion: UInt32 = 2
    /// The largest manifest accepted (a model with a million tensors stays far below it).
    static let maximumManifestBytes = 1 << 30

    var version: UInt32 = formatVersion
    var manifestLength: Int
    var manifestChecksum: UInt64

    func encoded() -> [UInt8] {
        var out = CheckpointHeader.magic
        append(&out, version)
        append(&out, UInt32(0))
        append(&out, UInt64(manifestLength))
        append(&out, manifestChecksum)
        let check = out.withUnsafeBytes { XXH64.hash($0) }
        append(&out, check)
        return out
    }

    /// Parses and checks the header at the start of `bytes` (at least `size` of them).
    init(parsing bytes: UnsafeRawBufferPointer, path: String) throws {
        precondition(bytes.count >= CheckpointHeader.size)
        guard Array(bytes[0..<8]) == CheckpointHeader.magic else {
            throw CheckpointError.corrupt(path: path, detail: "not a Carina checkpoint (the file does not start with \"CARINACK\")")
        }
        let stored: UInt64 = load(bytes, 32)
        let computed = XXH64.hash(UnsafeRawBufferPointer(rebasing: bytes[0..<32]))
        guard stored == computed else {
            throw CheckpointError.corrupt(path: path, detail: "header checksum mismatch (stored \(XXH64.hex(stored)), computed \(XXH64.hex(computed)))")
        }
        version = load(bytes, 8)
        guard version == CheckpointHeader.formatVersion else {
            throw CheckpointError.corrupt(path: path, detail: "format version \(version); this Carina reads version \(CheckpointHeader.formatVersion)")
        }
        let reserved: UInt32 = load(bytes, 12)
        let length: UInt64 = load(bytes, 16)
        guard reserved == 0, length > 0, length <= UInt64(CheckpointHeader.maximumManifestBytes) else {
            throw CheckpointError.corrupt(path: path, detail: "header holds an impossible manifest length \(length) or reserved field \(reserved)")
        }
        manifestLength = Int(length)
        manifestChecksum = load(bytes, 24)
    }

    init(manifestLength: Int, manifestChecksum: UInt64) {
        self.manifestLength = manifestLength
        self.manifestChecksum = manifestChecksum
    }
}

/// The JSON manifest: the run state and, for every tensor, where its frames lie and how to check them.
struct CheckpointManifest: Codable, Equatable {
    struct Entry: Codable, Equatable {
        /// "model" or "optimizer".
        var group: String
        var name: String
        var shape: [Int]
        /// Always "F32" (little-endian IEEE 754 binary32) in this version.
        var dtype: String
        /// Byte offset of the tensor's first frame from the start of the data section (right after the manifest).
        var offset: Int
        /// Bytes of all its frames together.
        var storedBytes: Int
        /// Bytes of its raw little-endian Float32 data (4 × elements).
        var rawBytes: Int
        /// "zstd": each frame is one zstd frame with content size and zstd's own content checksum.
        var compression: String
        /// Whether each chunk's bytes were split into 4 byte planes before compression (ByteShuffle).
        var byteShuffle: Bool
        /// Stored length of each frame; frame k holds raw bytes k·chunkBytes ..< min((k+1)·chunkBytes, rawBytes).
        var frames: [Int]
        /// XXH64 of each frame's stored bytes, 16 hex digits: catches a flip zstd cannot see (its header's unused bits).
        var frameChecksums: [String]
        /// XXH64 (seed 0) of the raw little-endian Float32 bytes, 16 hex digits.
        var checksum: String
    }

    var formatVersion: Int
    /// ISO 8601, UTC.
    var created: String
    /// The algorithm of the tensor checksums: "xxh64" (seed 0, over the raw bytes before shuffling).
    var checksum: String
    /// zstd level the frames were compressed at (informational; reading does not need it).
    var level: Int
    /// Raw bytes per frame (a multiple of 4); the last frame of a tensor may hold fewer, an empty tensor one empty frame.
    var chunkBytes: Int
    var state: RunState
    var tensors: [Entry]

    static let groups = ["model", "optimizer"]
    /// The largest `chunkBytes` accepted: a reader holds a few chunks per thread, so this bounds its scratch
    /// memory whatever a file says (writers use 4 MiB).
    static let maximumChunkBytes = 64 << 20
    /// The most raw bytes one stored byte of a zstd frame can decode to: a zstd block decodes to at most
    /// 128 KiB and takes at least 4 bytes (a 3-byte header and one RLE byte). A frame claiming more is not zstd.
    static let maximumExpansion = (128 << 10) / 4

    /// Number of frames a tensor of `rawBytes` is split into (without overflow for any sizes).
    static func frameCount(rawBytes: Int, chunkBytes: Int) -> Int {
        max(1, rawBytes / chunkBytes + (rawBytes % chunkBytes == 0 ? 0 : 1))
    }

    /// Raw bytes of frame `k` of a tensor of `rawBytes`.
    static func frameRawBytes(_ k: Int, rawBytes: Int, chunkBytes: Int) -> Int {
        min(chunkBytes, rawBytes - k * chunkBytes)
    }

    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return [UInt8](try encoder.encode(self))
    }

    /// Decodes the manifest bytes (whose checksum the caller has checked) and checks that every entry is
    /// consistent, so that frames can be located without further checks. `dataBytes` is what the file
    /// holds after the manifest.
    static func decode(_ bytes: UnsafeRawBufferPointer, path: String, dataBytes: Int) throws -> CheckpointManifest {
        let manifest: CheckpointManifest
        do {
            manifest = try JSONDecoder().decode(CheckpointManifest.self, from: Data(bytes))
        } catch {
            throw CheckpointError.corrupt(path: path, detail: "unreadable manifest: \(error)")
        }
        try manifest.validate(path: path, dataBytes: dataBytes)
        return manifest
    }

    func validate(path: String, dataBytes: Int) throws {
        func bad(_ detail: String) -> CheckpointError { .corrupt(path: path, detail: "manifest: " + detail) }
        guard formatVersion == Int(CheckpointHeader.formatVersion) else { throw bad("format version \(formatVersion) differs from the header's") }
        guard checksum == "xxh64" else { throw bad("unknown checksum algorithm '\(checksum)'") }
        guard chunkBytes > 0, chunkBytes % 4 == 0, chunkBytes <= CheckpointManifest.maximumChunkBytes else {
            throw bad("chunk size \(chunkBytes) is not a positive multiple of 4 of at most \(CheckpointManifest.maximumChunkBytes) bytes")
        }
        var seen: [String: Set<String>] = [:]
        var end = 0
        for e in tensors {
            func badTensor(_ detail: String) -> CheckpointError {
                .corrupt(path: path, detail: "manifest: \(e.group) tensor '\(e.name)': \(detail)")
            }
            guard CheckpointManifest.groups.contains(e.group) else { throw badTensor("unknown group (expected model or optimizer)") }
            guard seen[e.group, default: []].insert(e.name).inserted else { throw badTensor("appears twice") }
            guard e.dtype == "F32" else { throw badTensor("dtype \(e.dtype); this Carina reads F32") }
            guard e.compression == "zstd" else { throw badTensor("compression '\(e.compression)'; this Carina reads zstd") }
            var elements = 1
            for extent in e.shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: extent)
                guard extent >= 0, !overflow, product <= Int.max / 4 else { throw badTensor("impossible shape \(e.shape)") }
                elements = product
            }
            guard e.rawBytes == elements * 4 else { throw badTensor("\(e.rawBytes) raw bytes for shape \(e.shape) of F32") }
            guard e.frames.count == CheckpointManifest.frameCount(rawBytes: e.rawBytes, chunkBytes: chunkBytes) else {
                throw badTensor("\(e.frames.count) frames for \(e.rawBytes) bytes in chunks of \(chunkBytes)")
            }
            var stored = 0
            for (k, f) in e.frames.enumerated() {
                // A frame is no longer than zstd's bound for its chunk and no shorter than its chunk needs, so
                // neither a frame buffer nor a tensor is ever sized by a length the file could not back.
                let raw = CheckpointManifest.frameRawBytes(k, rawBytes: e.rawBytes, chunkBytes: chunkBytes)
                guard f > 0, f <= ZSTD_compressBound(raw), raw / CheckpointManifest.maximumExpansion <= f else {
                    throw badTensor("frame \(k + 1) of \(e.frames.count) is \(f) bytes long, impossible for a zstd frame of \(raw) raw bytes")
                }
                stored += f  // no overflow: a manifest of at most 1 GiB lists under 2^30 frames of at most ~2^26 bytes
            }
            guard stored == e.storedBytes else { throw badTensor("frames total \(stored) bytes, stored length says \(e.storedBytes)") }
            guard e.offset == end else { throw badTensor("starts at \(e.offset), the previous tensor ends at \(end)") }
            for digest in [e.checksum] + e.frameChecksums where digest.count != 16 || UInt64(digest, radix: 16) == nil {
                throw badTensor("checksum '\(digest)' is not 16 hex digits")
            }
            guard e.frameChecksums.count == e.frames.count else { throw badTensor("\(e.frameChecksums.count) frame checksums for \(e.frames.count) frames") }
            guard stored <= Int.max - end else { throw badTensor("impossible stored length \(stored)") }
            end += stored
        }
        if end > dataBytes {
            // Name the first tensor the file does not fully hold.
            let first = tensors.first { $0.offset + $0.storedBytes > dataBytes }!
            throw CheckpointError.truncated(path: path, detail: "\(first.group) tensor '\(first.name)' needs data bytes \(first.offset)..<\(first.offset + first.storedBytes), "
                                            + "the file holds \(dataBytes) after the manifest (\(end - dataBytes) bytes missing)")
        }
        if end < dataBytes {
            throw CheckpointError.corrupt(path: path, detail: "\(dataBytes - end) unexpected bytes after the last tensor")
        }
    }
}

/// Appends `value` little-endian.
func append<T: FixedWidthInteger>(_ bytes: inout [UInt8], _ value: T) {
    withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
}

/// Reads a little-endian integer at `offset`.
func load<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> T {
    T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
}
