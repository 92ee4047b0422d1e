// Reads a dataset's own text file whole (a manifest, a label CSV), gunzipping it when its name ends in .gz
// (MIMIC's *.csv.gz, the label files in shared/data). The name and the content must agree, and the text is
// bounded as it is read: at most `maxBytes` in all and `maxLineBytes` per line, decompressed, so a small
// crafted .gz cannot fill memory. Not for: parsing (ImporterCSV) or shard files.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CZlib

enum CompressedFile {
    /// The most bytes a manifest or label file may hold once decompressed: 512 MiB (MIMIC-CXR's largest
    /// CSV is about 60 MB).
    static let maxBytes = 1 << 29
    /// The longest line such a file may have: 1 MiB (a quoted report spanning lines counts per line).
    static let maxLineBytes = 1 << 20

    /// The (decompressed) bytes of `path`. Errors name the file: a damaged or truncated .gz, gzip data in a
    /// file not named .gz (or a .gz that is not gzip), more than `maxBytes` bytes, or a line longer than
    /// `maxLineBytes` (both checked as the data arrives, before more is read). Only regular files are read.
    /// `what` names the kind of file in the limit errors.
    static func contents(of path: String, maxBytes: Int = maxBytes, maxLineBytes: Int = maxLineBytes,
                         what: String = "a manifest or label file") throws -> [UInt8] {
        func bad(_ record: String, _ problem: String) -> DataError {
            .badRecord(file: path, record: record, column: nil, problem: problem)
        }
        let opened: (fd: Int32, size: Int)
        do {
            opened = try FileBytes.openRegular(path)
        } catch {
            throw bad("whole file", "cannot read: \(error)")
        }
        var magic: [UInt8] = [0, 0]
        let got = magic.withUnsafeMutableBytes { pread(opened.fd, $0.baseAddress, 2, 0) }
        let isGzip = got == 2 && magic == [0x1F, 0x8B]
        let namedGzip = path.lowercased().hasSuffix(".gz")
        if isGzip != namedGzip {
            close(opened.fd)
            throw bad("whole file", namedGzip
                      ? "the name ends in .gz but the content is not gzip data (no 1F 8B at its start); rename it without .gz"
                      : "the content is gzip-compressed but the name does not end in .gz; rename it to end in .gz, or decompress it")
        }
        var reader = BoundedText(path: path, maxBytes: maxBytes, maxLineBytes: maxLineBytes, what: what)
        guard isGzip else {
            defer { close(opened.fd) }
            guard opened.size <= maxBytes else {
                throw bad("whole file", "the file is \(opened.size) bytes, over the limit of \(maxBytes) bytes")
            }
            var chunk = [UInt8](repeating: 0, count: min(1 << 20, max(opened.size, 1)))
            while true {
                let n = chunk.withUnsafeMutableBytes { read(opened.fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n < 0 { throw bad("whole file", "cannot read: \(String(cString: strerror(errno)))") }
                if n == 0 { return reader.bytes }
                try reader.append(chunk[0..<n])
            }
        }
        guard let file = gzdopen(opened.fd, "rb") else {  // owns the descriptor from here on
            close(opened.fd)
            throw bad("whole file", "cannot read: zlib could not open it")
        }
        defer { gzclose(file) }
        gzbuffer(file, 1 << 18)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            // A truncated stream ends reads with Z_BUF_ERROR ("unexpected end of file") instead of -1: check both.
            var code: Int32 = Z_OK
            let message = gzerror(file, &code).map { String(cString: $0) } ?? "unknown zlib error"
            if n < 0 || code != Z_OK {
                throw bad("byte \(reader.bytes.count) of the decompressed data", "gzip data is damaged or truncated: \(message)")
            }
            if n == 0 { return reader.bytes }
            try reader.append(chunk[0..<Int(n)])
        }
    }

    /// `path` if it exists, else `path + ".gz"` if that does, else nil.
    static func existing(_ path: String) -> String? {
        for candidate in [path, path + ".gz"] where DatasetFiles.isFile(candidate) { return candidate }
        return nil
    }
}

/// Text gathered chunk by chunk, refusing more than `maxBytes` in all or a line over `maxLineBytes`.
private struct BoundedText {
    let path: String
    let maxBytes: Int
    let maxLineBytes: Int
    let what: String
    var bytes = [UInt8]()
    /// Bytes since the last newline, and the 1-based number of the line they belong to.
    var lineLength = 0
    var line = 1

    init(path: String, maxBytes: Int, maxLineBytes: Int, what: String) {
        self.path = path
        self.maxBytes = maxBytes
        self.maxLineBytes = maxLineBytes
        self.what = what
    }

    mutating func append(_ chunk: ArraySlice<UInt8>) throws {
        guard chunk.count <= maxBytes - bytes.count else {
            throw DataError.badRecord(file: path, record: "whole file", column: nil,
                                      problem: "more than \(maxBytes) bytes (decompressed); the limit for \(what) is \(maxBytes) bytes")
        }
        for byte in chunk {
            if byte == 10 {
                line += 1
                lineLength = 0
            } else {
                lineLength += 1
                if lineLength > maxLineBytes {
                    throw DataError.badRecord(file: path, record: "line \(line)", column: nil,
                                              problem: "the line is longer than \(maxLineBytes) bytes (the limit for \(what) line)")
                }
            }
        }
        bytes += chunk
    }
}
