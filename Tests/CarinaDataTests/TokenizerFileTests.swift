// Tokenizer files from elsewhere are untrusted: vocab.json, merges.txt, open_clip's bpe file and
// tokenizer_config.json that are truncated, repeat tokens, name tokens that do not exist, hold huge lines or
// bytes that are not UTF-8 get errors naming the file and the line, never a crash, a hang or an allocation
// sized by what they claim. Not for: agreement with the reference libraries (TokenizerReferenceTests).
import Foundation
import Testing
@testable import CarinaData

/// JSON text of a string.
private func json(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}

/// A small valid RoBERTa-style vocabulary: the specials, the 256 byte symbols, then the results of `merges`.
private func robertaFiles(merges: [(String, String)] = [("l", "u"), ("lu", "n"), ("lun", "g")]) -> (vocabulary: [String], merges: String) {
    var vocabulary = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"] + ByteLevelBPETokenizer.byteSymbols
    vocabulary += merges.map { $0.0 + $0.1 }
    return (vocabulary, "#version: 0.2\n" + merges.map { "\($0.0) \($0.1)\n" }.joined())
}

/// vocab.json with one entry per line (line k + 2 holds id k).
private func vocabularyJSON(_ tokens: [String]) -> String {
    "{\n" + tokens.enumerated().map { "\(json($0.element)): \($0.offset)" }.joined(separator: ",\n") + "\n}\n"
}

@Suite struct TokenizerFileTests {
    /// The error loading `vocab` and `merges` as a RoBERTa directory gives, with the directory's path removed.
    private func loadError(vocab: [UInt8], merges: [UInt8], config: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let dir = try TemporaryDirectory("bpe")
        defer { dir.remove() }
        try dir.write(vocab, to: "vocab.json")
        try dir.write(merges, to: "merges.txt")
        if let config { try dir.write(config, to: "tokenizer_config.json") }
        let error = #expect(throws: DataError.self, sourceLocation: sourceLocation) { try TokenizerFiles.load(directory: dir.path) }
        return (error.map { "\($0)" } ?? "").replacingOccurrences(of: dir.path + "/", with: "")
    }

    private func loadError(vocab: String, merges: String, config: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try loadError(vocab: Array(vocab.utf8), merges: Array(merges.utf8), config: config, sourceLocation: sourceLocation)
    }

    @Test func aValidSmallVocabularyLoads() throws {
        let files = robertaFiles()
        let dir = try TemporaryDirectory("bpe-ok")
        defer { dir.remove() }
        try dir.write(vocabularyJSON(files.vocabulary), to: "vocab.json")
        try dir.write(files.merges, to: "merges.txt")
        let t = try #require(try TokenizerFiles.load(directory: dir.path) as? ByteLevelBPETokenizer)
        #expect(t.style == .roberta && t.mergeCount == 3)
        #expect(t.tokens(t.tokenIDs("lung lungs")) == ["lung", "Ġ", "lung", "s"])
    }

    @Test func equalMergesApplyLeftmostFirst() throws {
        // As OpenAI's loop (every occurrence of the best pair, left to right) and HF's queue (rank, then position).
        let files = robertaFiles(merges: [("a", "a"), ("aa", "aa")])
        let dir = try TemporaryDirectory("bpe-ties")
        defer { dir.remove() }
        try dir.write(vocabularyJSON(files.vocabulary), to: "vocab.json")
        try dir.write(files.merges, to: "merges.txt")
        let t = try #require(try TokenizerFiles.load(directory: dir.path) as? ByteLevelBPETokenizer)
        #expect(t.tokens(t.tokenIDs("aaa")) == ["aa", "a"])
        #expect(t.tokens(t.tokenIDs("aaaaa")) == ["aaaa", "a"])
        #expect(t.tokens(t.tokenIDs("aaaaaaa")) == ["aaaa", "aa", "a"])
    }

    @Test func vocabularyJSONErrorsNameTheLineAndEntry() throws {
        let files = robertaFiles()
        let good = vocabularyJSON(files.vocabulary)
        // Truncated in the middle of the object.
        #expect(try loadError(vocab: String(good.prefix(40)), merges: files.merges) == "vocab.json: line 5: the file ends inside a string")
        #expect(try loadError(vocab: "{\"a\": 0, \"b\"", merges: files.merges) == "vocab.json: line 1: the file ends where ':' after a token was expected")
        // A repeated token, a repeated id, an id past the end (a gap), a negative or fractional id.
        var repeated = files.vocabulary
        repeated[7] = "<s>"
        #expect(try loadError(vocab: vocabularyJSON(repeated), merges: files.merges) == "vocab.json: line 9, entry 8 (\"<s>\"): the token repeats entry 1")
        let sameID = good.replacingOccurrences(of: "\"<pad>\": 1", with: "\"<pad>\": 0")
        #expect(try loadError(vocab: sameID, merges: files.merges) == "vocab.json: line 3, entry 2 (\"<pad>\"): the id 0 is also the id of \"<s>\"")
        let gap = good.replacingOccurrences(of: "\"<pad>\": 1", with: "\"<pad>\": 100000")
        #expect(try loadError(vocab: gap, merges: files.merges)
                == "vocab.json: line 3, entry 2 (\"<pad>\"): the id 100000 is outside 0..<264 (ids must number the 264 tokens without gaps)")
        #expect(try loadError(vocab: good.replacingOccurrences(of: "\"<pad>\": 1", with: "\"<pad>\": -1"), merges: files.merges)
                == "vocab.json: line 3: expected a non-negative integer id, found '-'")
        #expect(try loadError(vocab: good.replacingOccurrences(of: "\"<pad>\": 1", with: "\"<pad>\": 1.0"), merges: files.merges)
                == "vocab.json: line 3: an id that is not a whole number")
        #expect(try loadError(vocab: "{\"a\": 99999999999999999999}", merges: files.merges) == "vocab.json: line 1: an id too large for a vocabulary")
        #expect(try loadError(vocab: good + "x", merges: files.merges) == "vocab.json: line 267: unexpected 'x' after the object")
        #expect(try loadError(vocab: "{\"\": 0}", merges: files.merges) == "vocab.json: line 1, entry 1 (\"\"): the token is empty")
    }

    @Test func vocabularyJSONStringsMustBeValidAndBounded() throws {
        let merges = robertaFiles().merges
        #expect(try loadError(vocab: Array("{\n\"ok\": 0,\n\"".utf8) + [0xFF, 0xFE] + Array("\": 1}".utf8), merges: Array(merges.utf8))
                == "vocab.json: line 3: a string that is not valid UTF-8")
        #expect(try loadError(vocab: "{\"\\ud800x\": 0}", merges: merges) == "vocab.json: line 1: a lone UTF-16 surrogate \\uD800 in a string")
        #expect(try loadError(vocab: "{\"a\\qb\": 0}", merges: merges) == "vocab.json: line 1: an unknown escape \\q in a string")
        #expect(try loadError(vocab: "{\"a\nb\": 0}", merges: merges) == "vocab.json: line 1: a control character (byte 0xA) inside a string; JSON needs it escaped")
        let long = String(repeating: "x", count: ByteLevelBPETokenizer.maxTokenBytes + 1)
        #expect(try loadError(vocab: "{\"ok\": 0,\n \"\(long)\": 1}", merges: merges) == "vocab.json: line 2: a token longer than 1024 bytes, the limit")
        // An empty object is read, then found to lack what a byte-level vocabulary needs.
        #expect(try loadError(vocab: "{}", merges: merges)
                == "vocab.json: the vocabulary has no start token \"<s>\"")
    }

    @Test func aVocabularyWithoutEveryByteSymbolIsRefused() throws {
        var files = robertaFiles()
        files.vocabulary.remove(at: 5 + 65)  // "A", byte 65
        let removed = robertaFiles().vocabulary[5 + 65]
        let text = try loadError(vocab: vocabularyJSON(files.vocabulary), merges: files.merges)
        #expect(text.hasPrefix("vocab.json with merges.txt: the vocabulary lacks the symbol \(removed.debugDescription) of byte "), "\(text)")
    }

    @Test func mergesErrorsNameTheLine() throws {
        let files = robertaFiles()
        let vocab = vocabularyJSON(files.vocabulary)
        #expect(try loadError(vocab: vocab, merges: files.merges + "lung zzz\n")
                == "vocab.json with merges.txt: line 5: the merge names \"zzz\", which is not in the vocabulary")
        #expect(try loadError(vocab: vocab, merges: files.merges + "lun s\n")
                == "vocab.json with merges.txt: line 5: the merge makes \"luns\", which is not in the vocabulary")
        #expect(try loadError(vocab: vocab, merges: files.merges + "lu n\n")
                == "vocab.json with merges.txt: line 5: the merge \"lu n\" repeats line 3")
        #expect(try loadError(vocab: vocab, merges: files.merges + "a b c\n")
                == "merges.txt: line 5: expected a merge, two tokens separated by one space, found \"a b c\"")
        #expect(try loadError(vocab: vocab, merges: "#version: 0.2\nl u\n\nlu n\n")
                == "merges.txt: line 3: expected a merge, two tokens separated by one space, found \"\"")
        #expect(try loadError(vocab: Array(vocab.utf8), merges: Array((files.merges + "a ").utf8) + [0xC3, 0x28, 10])
                == "merges.txt: line 5: not valid UTF-8")
        let huge = String(repeating: "x", count: 5000)
        #expect(try loadError(vocab: vocab, merges: files.merges + huge + " y\n")
                == "merges.txt: line 5: the line is longer than 2049 bytes (the limit for a merges file line)")
    }

    @Test func tooManyMergesAreRefused() throws {
        let files = robertaFiles()
        var merges = "#version: 0.2\n"
        merges.reserveCapacity(5 * (ByteLevelBPETokenizer.maxVocabularyTokens + 2))
        for _ in 0...ByteLevelBPETokenizer.maxVocabularyTokens { merges += "l u\n" }
        #expect(try loadError(vocab: vocabularyJSON(files.vocabulary), merges: merges) == "merges.txt: line 1000002: more than 1000000 merges, the limit")
    }

    @Test func hugeOrNonRegularFilesAreRefusedBeforeReading() throws {
        let dir = try TemporaryDirectory("bpe-huge")
        defer { dir.remove() }
        let files = robertaFiles()
        try dir.write(vocabularyJSON(files.vocabulary), to: "vocab.json")
        try dir.write(files.merges, to: "merges.txt")
        let vocab = dir.file("vocab.json")
        try FileHandle(forUpdatingAtPath: vocab)?.truncate(atOffset: UInt64(ByteLevelBPETokenizer.maxFileBytes + 1))
        var error = #expect(throws: DataError.self) { try TokenizerFiles.load(directory: dir.path) }
        #expect("\(error!)" == "\(vocab): cannot read the vocabulary file: the file is 67108865 bytes, over the limit of 67108864 bytes")
        try dir.write(vocabularyJSON(files.vocabulary), to: "vocab.json")
        let merges = dir.file("merges.txt")
        try FileHandle(forUpdatingAtPath: merges)?.truncate(atOffset: UInt64(ByteLevelBPETokenizer.maxFileBytes + 1))
        error = #expect(throws: DataError.self) { try TokenizerFiles.load(directory: dir.path) }
        #expect("\(error!)" == "\(merges): whole file: the file is 67108865 bytes, over the limit of 67108864 bytes")
        try makeFIFO(at: merges)
        let text = outcome(within: 60) { _ = try TokenizerFiles.load(directory: dir.path) }
        if text == nil { releaseFIFO(at: merges) }
        #expect(try #require(text, "reading merges.txt that is a named pipe hung") == "\(merges): whole file: cannot read: not a regular file (a named pipe)")
    }

    @Test func openCLIPBPEFileErrors() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tokenizers/clip-2k/bpe_simple_vocab_2k.txt.gz").path
        let gz = try Array(Data(contentsOf: URL(fileURLWithPath: fixture)))
        let dir = try TemporaryDirectory("clip-bpe")
        defer { dir.remove() }
        func error(_ bytes: [UInt8], name: String = "bpe.txt.gz") throws -> String {
            try dir.write(bytes, to: name)
            let e = #expect(throws: DataError.self) { try ByteLevelBPETokenizer(clipBPEFile: dir.file(name)) }
            return (e.map { "\($0)" } ?? "").replacingOccurrences(of: dir.path + "/", with: "")
        }
        #expect(try error(Array(gz.prefix(gz.count / 2))).hasPrefix("bpe.txt.gz: byte "))
        #expect(try error(Array(gz.prefix(gz.count / 2))).contains("gzip data is damaged or truncated"))
        #expect(try error(gz, name: "bpe.txt") == "bpe.txt: whole file: the content is gzip-compressed but the name does not end in .gz; rename it to end in .gz, or decompress it")
        // In open_clip's format the merges make the vocabulary: a repeated merge would list a token twice.
        #expect(try error(Array("header\ni n\nt h\ni n\n".utf8), name: "bpe.txt")
                == "bpe.txt: line 4: the merge makes \"in\", which line 2 already makes (a token would be listed twice)")
        #expect(try error(Array("header\ni n\nin zzz\n".utf8), name: "bpe.txt")
                == "bpe.txt: line 3: the merge names \"zzz\", which is not in the vocabulary")
        // Lines after CLIP's 48,894 merges are not read (open_clip's rule), so junk there is no error.
        try dir.write("header\ni n\nt h\nnot a merge line\n", to: "short.txt")
        let read = try ByteLevelBPETokenizer.readMerges(dir.file("short.txt"), skipFirstLine: true, limit: 2)
        #expect(read.map { "\($0.left) \($0.right) \($0.line)" } == ["i n 2", "t h 3"])
    }

    @Test func tokenizerConfigErrorsNameTheKey() throws {
        let files = robertaFiles()
        let vocab = vocabularyJSON(files.vocabulary)
        #expect(try loadError(vocab: vocab, merges: files.merges, config: "{\"tokenizer_class\": \"XLNetTokenizer\"}")
                == "tokenizer_config.json: tokenizer_class \"XLNetTokenizer\" is not one Carina reads (BertTokenizer, DistilBertTokenizer, CLIPTokenizer, RobertaTokenizer, with or without Fast)")
        #expect(try loadError(vocab: vocab, merges: files.merges, config: "{\"tokenizer_class\": \"RobertaTokenizer\", \"do_lower_case\": \"yes\"}")
                == "tokenizer_config.json: 'do_lower_case' should be true, false or null, found yes")
        #expect(try loadError(vocab: vocab, merges: files.merges, config: "{\"mask_token\": [1, 2]}").hasPrefix("tokenizer_config.json: 'mask_token' should be a token"))
        #expect(try loadError(vocab: vocab, merges: files.merges, config: "{\"pad_token\": {\"content\": \"<nope>\"}}")
                == "vocab.json: the vocabulary has no padding token \"<nope>\"")
        #expect(try loadError(vocab: vocab, merges: files.merges, config: String(repeating: "[", count: 100_000)) == "tokenizer_config.json: not a JSON object")
    }

    @Test func directoriesWithoutReadableTokenizerFilesSaySo() throws {
        let dir = try TemporaryDirectory("no-tokenizer")
        defer { dir.remove() }
        try dir.write("{}", to: "tokenizer.json")
        var error = #expect(throws: DataError.self) { try TokenizerFiles.load(directory: dir.path) }
        #expect("\(error!)".hasPrefix("\(dir.path): no tokenizer files: expected vocab.txt (BERT), vocab.json and merges.txt (CLIP, RoBERTa) or bpe_simple_vocab_16e6.txt.gz (open_clip); it has only tokenizer.json"))
        try dir.write("{\"tokenizer_class\": \"BertTokenizerFast\"}", to: "tokenizer_config.json")
        error = #expect(throws: DataError.self) { try TokenizerFiles.load(directory: dir.path) }
        #expect("\(error!)".hasPrefix("\(dir.path): tokenizer_config.json names BertTokenizerFast but the directory has no vocab.txt; it has only tokenizer.json"))
        error = #expect(throws: DataError.self) { try TokenizerFiles.load(directory: dir.file("tokenizer.json")) }
        #expect("\(error!)" == "\(dir.file("tokenizer.json")): not a directory (a tokenizer is loaded from a model directory)")
    }

    @Test func wordPieceSettingsComeFromTheConfig() throws {
        let dir = try TemporaryDirectory("wordpiece-config")
        defer { dir.remove() }
        try dir.write((WordPieceTokenizer.specialTokens + ["re", "##sume", "résumé", "Résumé"]).joined(separator: "\n") + "\n", to: "vocab.txt")
        var t = try #require(try TokenizerFiles.load(directory: dir.path) as? WordPieceTokenizer)
        #expect(t.lowercase && t.tokenize("Résumé") == ["re", "##sume"])  // no config: BERT uncased
        try dir.write("{\"do_lower_case\": false}", to: "tokenizer_config.json")
        t = try #require(try TokenizerFiles.load(directory: dir.path) as? WordPieceTokenizer)
        #expect(!t.lowercase && t.tokenize("Résumé") == ["Résumé"])
        try dir.write("{\"do_lower_case\": true, \"strip_accents\": false}", to: "tokenizer_config.json")
        t = try #require(try TokenizerFiles.load(directory: dir.path) as? WordPieceTokenizer)
        #expect(t.tokenize("Résumé") == ["résumé"])
        try dir.write("{\"do_lower_case\": true, \"cls_token\": \"<cls>\"}", to: "tokenizer_config.json")
        let error = #expect(throws: DataError.self) { try TokenizerFiles.load(directory: dir.path) }
        #expect("\(error!)" == "\(dir.file("tokenizer_config.json")): cls_token is \"<cls>\"; Carina's WordPiece uses [CLS]")
    }
}
