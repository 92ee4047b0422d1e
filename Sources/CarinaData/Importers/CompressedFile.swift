// Reads a dataset's own file whole, gunzipping it when it is gzip (MIMIC's *.csv.gz, the label files in
// shared/data): zlib reads plain files through unchanged. Not for: parsing (ImporterCSV) or shard files.

import CZlib

enum CompressedFile {
    /// The (decompressed) bytes of `path`; a damaged or truncated .gz is an error naming the file.
    static func contents(of path: String) throws -> [UInt8] {
        guard let file = gzopen(path, "rb") else {
            let reason: String
            do { _ = try FileBytes.contents(of: path); reason = "cannot open" } catch { reason = "\(error)" }
            throw DataError.badRecord(file: path, record: "whole file", column: nil, problem: "cannot read: \(reason)")
        }
        defer { gzclose(file) }
        gzbuffer(file, 1 << 18)
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            // A truncated stream ends reads with Z_BUF_ERROR ("unexpected end of file") instead of -1: check both.
            var code: Int32 = Z_OK
            let message = gzerror(file, &code).map { String(cString: $0) } ?? "unknown zlib error"
            if n < 0 || code != Z_OK {
                throw DataError.badRecord(file: path, record: "byte \(bytes.count) of the decompressed data", column: nil,
                                          problem: "gzip data is damaged or truncated: \(message)")
            }
            if n == 0 { break }
            bytes += chunk[0..<Int(n)]
        }
        return bytes
    }

    /// `path` if it exists, else `path + ".gz"` if that does, else nil.
    static func existing(_ path: String) -> String? {
        for candidate in [path, path + ".gz"] where DatasetFiles.isFile(candidate) { return candidate }
        return nil
    }
}
