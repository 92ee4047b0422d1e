// Manifests and label files from elsewhere, compressed or not: a file's name and content must agree (gzip
// only when named .gz), and the text is bounded while it is decompressed (total bytes and line length), so
// a small gzip bomb cannot fill memory. Regression tests of issue 11.
// Not for: truncated or damaged gzip data (ImporterErrorTests) or real label files (LabelFileImportTests).

import CZlib
import Foundation
import Testing
@testable import CarinaData

/// Writes `count` copies of `piece` gzip-compressed to `path` (with zlib, as gzip(1) would).
private func writeGzip(_ path: String, repeating piece: [UInt8], count: Int) throws {
    let file = try #require(gzopen(path, "wb6"))
    for _ in 0..<count {
        #expect(piece.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) } == Int32(piece.count))
    }
    #expect(gzclose(file) == Z_OK)
}

@Suite struct CompressedManifestTests {
    @Test func gzipContentInAFileNotNamedGzIsRefused() throws {
        let dir = try TemporaryDirectory("gz-name")
        defer { dir.remove() }
        try writeGzip(dir.file("m.jsonl"), repeating: Array("{\"image\": \"a.png\", \"report\": \"Clear.\"}\n".utf8), count: 1)
        let error = #expect(throws: DataError.self) { try ManifestImporter(manifest: dir.file("m.jsonl"), format: .jsonl).records() }
        #expect("\(error!)" == "\(dir.file("m.jsonl")), whole file: the content is gzip-compressed but the name does not end in .gz; rename it to end in .gz, or decompress it")
    }

    @Test func aFileNamedGzThatIsNotGzipIsRefused() throws {
        let dir = try TemporaryDirectory("gz-plain")
        defer { dir.remove() }
        try dir.write("image,report\na.png,Clear.\n", to: "manifest.csv.gz")
        let error = #expect(throws: DataError.self) { try ImporterCSV(path: dir.file("manifest.csv.gz")) }
        #expect("\(error!)" == "\(dir.file("manifest.csv.gz")), whole file: the name ends in .gz but the content is not gzip data (no 1F 8B at its start); rename it without .gz")
    }

    @Test func aGzipBombWithoutNewlinesStopsAtTheLineLimit() throws {
        let dir = try TemporaryDirectory("gz-line")
        defer { dir.remove() }
        // 64 MiB of one line in about 64 KB; reading stops after the first 1 MiB line.
        try writeGzip(dir.file("manifest.csv.gz"), repeating: [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20), count: 64)
        let error = #expect(throws: DataError.self) { try ImporterCSV(path: dir.file("manifest.csv.gz")) }
        #expect("\(error!)" == "\(dir.file("manifest.csv.gz")), line 1: the line is longer than \(CompressedFile.maxLineBytes) bytes (the limit for a manifest or label file line)")
    }

    @Test func aGzipBombStopsAtTheByteLimit() throws {
        let dir = try TemporaryDirectory("gz-bytes")
        defer { dir.remove() }
        // Short lines, 8 MiB in all: the total limit (here 1 MiB, by default 512 MiB) stops it as it arrives.
        try writeGzip(dir.file("big.csv.gz"), repeating: Array("x,y\n".utf8), count: 2 << 20)
        let error = #expect(throws: DataError.self) { try CompressedFile.contents(of: dir.file("big.csv.gz"), maxBytes: 1 << 20) }
        #expect("\(error!)" == "\(dir.file("big.csv.gz")), whole file: more than 1048576 bytes (decompressed); the limit for a manifest or label file is 1048576 bytes")
        #expect(CompressedFile.maxBytes == 512 << 20)
        // A plain file over the limit is refused from its size, before it is read.
        try dir.write(Array(repeating: UInt8(ascii: "\n"), count: (1 << 20) + 1), to: "big.csv")
        let plain = #expect(throws: DataError.self) { try CompressedFile.contents(of: dir.file("big.csv"), maxBytes: 1 << 20) }
        #expect("\(plain!)" == "\(dir.file("big.csv")), whole file: the file is 1048577 bytes, over the limit of 1048576 bytes")
    }

    @Test func aManifestThatIsANamedPipeIsRefusedWithoutHanging() throws {
        let dir = try TemporaryDirectory("manifest-fifo")
        defer { dir.remove() }
        try makeFIFO(at: dir.file("manifest.csv.gz"))
        let path = dir.file("manifest.csv.gz")
        let text = outcome(within: 60) { _ = try ImporterCSV(path: path) }
        if text == nil { releaseFIFO(at: path) }
        let result = try #require(text, "reading a manifest that is a named pipe hung")
        #expect(result == "\(path), whole file: cannot read: not a regular file (a named pipe)")
    }
}
