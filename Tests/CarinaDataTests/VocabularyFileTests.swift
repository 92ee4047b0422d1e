// A vocab.txt from elsewhere is checked as it is read: only a regular file within a size limit, lines
// bounded in length and number, no empty or repeated token, each error naming the file and the line.
// Regression tests of issue 11. Not for: tokenizing (TextTests) or building vocabularies.

import Foundation
import Testing
@testable import CarinaData

private let specials = WordPieceTokenizer.specialTokens.joined(separator: "\n") + "\n"

@Suite struct VocabularyFileTests {
    /// The error loading `text` as vocab.txt gives.
    private func loadError(_ text: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let dir = try TemporaryDirectory("vocab")
        defer { dir.remove() }
        try dir.write(text, to: "vocab.txt")
        let error = #expect(throws: DataError.self, sourceLocation: sourceLocation) { try WordPieceTokenizer(vocabularyFile: dir.file("vocab.txt")) }
        return (error.map { "\($0)" } ?? "").replacingOccurrences(of: dir.file("vocab.txt"), with: "vocab.txt")
    }

    @Test func repeatedAndEmptyTokensAreRefusedNamingTheLine() throws {
        #expect(try loadError(Array((specials + "lung\nheart\nlung\n").utf8)) == "vocab.txt: line 8: the token \"lung\" repeats line 6")
        #expect(try loadError(Array((specials + "lung\n\nheart\n").utf8)) == "vocab.txt: line 7: the token is empty")
        #expect(try loadError(Array((specials + "lung\r\n\r\n").utf8)) == "vocab.txt: line 7: the token is empty")
        // CRLF line ends and a missing last newline are fine.
        let dir = try TemporaryDirectory("vocab-ok")
        defer { dir.remove() }
        try dir.write(specials.replacingOccurrences(of: "\n", with: "\r\n") + "lung", to: "vocab.txt")
        #expect(try WordPieceTokenizer(vocabularyFile: dir.file("vocab.txt")).vocabulary == WordPieceTokenizer.specialTokens + ["lung"])
    }

    @Test func overLongLinesAndTooManyTokensAreRefused() throws {
        let long = String(repeating: "x", count: WordPieceTokenizer.maxTokenBytes + 1)
        #expect(try loadError(Array((specials + "lung\n" + long + "\n").utf8)) == "vocab.txt: line 7: the token is 1025 bytes long, over the limit of 1024")
        var many = Array(specials.utf8)
        for i in 0..<(WordPieceTokenizer.maxVocabularyTokens - 4) { many += Array("t\(i)\n".utf8) }
        #expect(try loadError(many) == "vocab.txt: line 1000001: more than 1000000 tokens, the limit")
        #expect(try loadError(Array(specials.utf8) + [0xFF, 0xFE, 10]) == "vocab.txt: line 6: not valid UTF-8")
    }

    @Test func aHugeOrNonRegularVocabularyFileIsRefusedBeforeReading() throws {
        let dir = try TemporaryDirectory("vocab-huge")
        defer { dir.remove() }
        // A sparse file: its size is over the limit but it takes no disk space.
        let path = dir.file("vocab.txt")
        try dir.write(Array(specials.utf8), to: "vocab.txt")
        try FileHandle(forUpdatingAtPath: path)?.truncate(atOffset: UInt64(WordPieceTokenizer.maxVocabularyFileBytes + 1))
        let error = #expect(throws: DataError.self) { try WordPieceTokenizer(vocabularyFile: path) }
        #expect("\(error!)" == "\(path): cannot read the vocabulary file: the file is 67108865 bytes, over the limit of 67108864 bytes")
        try makeFIFO(at: path)
        let text = outcome(within: 60) { _ = try WordPieceTokenizer(vocabularyFile: path) }
        if text == nil { releaseFIFO(at: path) }
        #expect(try #require(text, "reading a vocabulary that is a named pipe hung")
                == "\(path): cannot read the vocabulary file: not a regular file (a named pipe)")
    }
}
