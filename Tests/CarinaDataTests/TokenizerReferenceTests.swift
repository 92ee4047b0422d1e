// CLIP's and RoBERTa's byte-level BPE and BERT's WordPiece against the ids of the libraries they must agree
// with (open_clip for CLIP, HF transformers for RoBERTa and BERT), from Fixtures/tokenizers written by
// scripts/tokenizer-fixtures.py: hand-written sentences always; the real CLIP and MiniLM vocabularies and the
// IU X-ray reports where present (skipping with a message otherwise). Not for: hostile files
// (TokenizerFileTests).
import Foundation
import Testing
@testable import CarinaData
import CarinaTensor

private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/tokenizers").path
private let realCLIP = fixtures + "/external/clip"
private let realMiniLM = fixtures + "/external/all-MiniLM-L6-v2"
private let iuReports = sharedData + "/iu-xray-reports/reports.csv"
private let externalMissing = "the real vocabularies are fetched by scripts/tokenizer-fixtures.py into Fixtures/tokenizers/external (absent)"

/// synthetic.json: the sentences, and per tokenizer the reference ids (and where the other HF implementation differs).
private struct Synthetic {
    let object: [String: Any]
    var sentences: [String] { object["sentences"] as! [String] }

    init() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixtures + "/synthetic.json"))
        object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    func entry(_ name: String) -> [String: Any] { object[name] as! [String: Any] }
    func ids(_ name: String, _ key: String = "ids") -> [[Int32]] { (entry(name)[key] as! [[Int]]).map { $0.map(Int32.init) } }
    /// Sentence index -> ids, for the entries kept only for some sentences.
    func sparse(_ name: String, _ key: String) -> [Int: [Int32]] {
        var out: [Int: [Int32]] = [:]
        for (k, v) in entry(name)[key] as! [String: [Int]] { out[Int(k)!] = v.map(Int32.init) }
        return out
    }
}

/// start + ids + end, the form the references are written in.
private func framed(_ t: any TextTokenizer, _ text: String) -> [Int32] {
    [t.specials.start] + t.tokenIDs(text) + [t.specials.end]
}

/// The sentences whose ids differ from `expected`, with both, for the failure message.
private func mismatches(_ t: any TextTokenizer, _ sentences: [String], _ expected: [[Int32]]) -> [String] {
    zip(sentences, expected).enumerated().compactMap { i, pair in
        let got = framed(t, pair.0)
        return got == pair.1 ? nil : "sentence \(i) \(pair.0.debugDescription):\n  got      \(got)\n  expected \(pair.1)"
    }
}

@Suite struct TokenizerReferenceTests {
    @Test func clipMatchesOpenCLIPFromBothFileLayouts() throws {
        let s = try Synthetic()
        let fromBPEFile = try ByteLevelBPETokenizer(clipBPEFile: fixtures + "/clip-2k/bpe_simple_vocab_2k.txt.gz")
        let fromHFDirectory = try TokenizerFiles.load(directory: fixtures + "/clip-2k")
        #expect(try TokenizerFiles.kind(directory: fixtures + "/clip-2k") == .clip)
        #expect(fromBPEFile.vocabularySize == 512 + 2000 + 2 && fromBPEFile.mergeCount == 2000)
        #expect(fromHFDirectory.vocabularySize == fromBPEFile.vocabularySize && fromHFDirectory.specials == fromBPEFile.specials)
        for t in [fromBPEFile, fromHFDirectory] as [any TextTokenizer] {
            let wrong = mismatches(t, s.sentences, s.ids("clip-2k"))
            #expect(wrong.isEmpty, "\(wrong.count) of \(s.sentences.count) differ from open_clip:\n\(wrong.joined(separator: "\n"))")
        }
        // HF's CLIPTokenizer lacks ftfy and HTML unescaping and lower-cases sigma as Rust does: these differ.
        #expect(s.sparse("clip-2k", "otherDiffers").keys.sorted() == [7, 11, 15, 17])
    }

    @Test func clipCleansTextAsOpenCLIPDoes() throws {
        // open_clip's whitespace_clean(basic_clean(text)).lower(): ftfy, html.unescape twice, whitespace, lower.
        let cases = try Synthetic().object["cleaning"] as! [[String]]
        #expect(cases.count == 15)
        for pair in cases {
            #expect(CLIPTextCleaning.clean(pair[0]) == pair[1], "\(pair[0].debugDescription)")
        }
    }

    @Test func clipTruncatesTo77KeepingEndOfTextLastAndPadsWithZero() throws {
        let s = try Synthetic()
        let t = try ByteLevelBPETokenizer(clipBPEFile: fixtures + "/clip-2k/bpe_simple_vocab_2k.txt.gz")
        let cut = s.sparse("clip-2k", "openclip77")
        #expect(!cut.isEmpty)
        for (i, expected) in cut {
            #expect(t.encode(s.sentences[i], contextLength: 77).ids == expected, "sentence \(i)")
        }
        let short = t.encode("No acute cardiopulmonary abnormality.", contextLength: 77)
        let used = Int(short.padding.reduce(0, +))
        #expect(short.ids.count == 77 && short.ids[used - 1] == t.specials.end && short.ids[used...].allSatisfy { $0 == 0 })
        #expect(Array(short.ids.prefix(used)) == s.ids("clip-2k")[0])
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: realCLIP), Comment(rawValue: externalMissing)))
    func clipOnItsRealVocabularyMatchesOpenCLIP() throws {
        let s = try Synthetic()
        let t = try TokenizerFiles.load(directory: realCLIP)
        #expect(t.vocabularySize == 49_408 && t.specials.start == 49_406 && t.specials.end == 49_407 && t.specials.pad == 0)
        let wrong = mismatches(t, s.sentences, s.ids("clip-real"))
        #expect(wrong.isEmpty, "\(wrong.count) of \(s.sentences.count) differ from open_clip:\n\(wrong.joined(separator: "\n"))")
        for (i, expected) in s.sparse("clip-real", "openclip77") {
            #expect(t.encode(s.sentences[i], contextLength: 77).ids == expected, "sentence \(i)")
        }
    }

    @Test func robertaMatchesHFRobertaTokenizer() throws {
        let s = try Synthetic()
        let t = try TokenizerFiles.load(directory: fixtures + "/roberta-tiny")
        #expect(try TokenizerFiles.kind(directory: fixtures + "/roberta-tiny") == .roberta)
        #expect(t.specials == SpecialTokenIDs(start: 0, end: 2, pad: 1, unknown: 3, mask: 4))
        let wrong = mismatches(t, s.sentences, s.ids("roberta-tiny"))
        #expect(wrong.isEmpty, "\(wrong.count) of \(s.sentences.count) differ from HF:\n\(wrong.joined(separator: "\n"))")
        // HF's truncation to 16 (max_length=16) keeps </s> last; Carina pads the rest with <pad>.
        for (i, expected) in s.ids("roberta-tiny", "hf16").enumerated() {
            let (ids, padding) = t.encode(s.sentences[i], contextLength: 16)
            #expect(Array(ids.prefix(expected.count)) == expected && ids.dropFirst(expected.count).allSatisfy { $0 == 1 }, "sentence \(i)")
            #expect(Int(padding.reduce(0, +)) == expected.count)
        }
    }

    @Test func wordPieceMatchesHFBertTokenizerInEveryCaseSetting() throws {
        let s = try Synthetic()
        let configs = s.object["bertConfigs"] as! [String: [Any]]
        #expect(configs.count == 5)
        for (name, setting) in configs.sorted(by: { $0.key < $1.key }) {
            let t = try WordPieceTokenizer(vocabularyFile: fixtures + "/bert-tiny-cased/vocab.txt", lowercase: setting[0] as! Bool,
                                           stripAccents: setting[1] as? Bool, tokenizeChineseChars: setting[2] as! Bool)
            let wrong = mismatches(t, s.sentences, s.ids("bert-tiny-" + name))
            #expect(wrong.isEmpty, "\(name): \(wrong.count) of \(s.sentences.count) differ from HF:\n\(wrong.joined(separator: "\n"))")
        }
        // The directory's tokenizer_config.json says cased.
        let loaded = try #require(try TokenizerFiles.load(directory: fixtures + "/bert-tiny-cased") as? WordPieceTokenizer)
        #expect(!loaded.lowercase && loaded.stripAccents == nil && loaded.tokenizeChineseChars)
        #expect(mismatches(loaded, s.sentences, s.ids("bert-tiny-cased")).isEmpty)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: realMiniLM), Comment(rawValue: externalMissing)))
    func wordPieceOnMiniLMsRealVocabularyMatchesHF() throws {
        let s = try Synthetic()
        let t = try #require(try TokenizerFiles.load(directory: realMiniLM) as? WordPieceTokenizer)
        #expect(t.lowercase && t.vocabularySize == 30_522)
        let wrong = mismatches(t, s.sentences, s.ids("minilm"))
        #expect(wrong.isEmpty, "\(wrong.count) of \(s.sentences.count) differ from HF:\n\(wrong.joined(separator: "\n"))")
        // HF's Rust BertTokenizer lower-cases a word-final capital sigma to σ, Python (and Carina) to ς.
        #expect(s.sparse("minilm", "otherDiffers").keys.sorted() == [15])
    }

    @Test func specialTokenStringsInTextAreText() throws {
        let clip = try ByteLevelBPETokenizer(clipBPEFile: fixtures + "/clip-2k/bpe_simple_vocab_2k.txt.gz")
        #expect(!clip.tokenIDs("a <|endoftext|> b").contains(clip.specials.end))
        let roberta = try #require(try TokenizerFiles.load(directory: fixtures + "/roberta-tiny") as? ByteLevelBPETokenizer)
        #expect(!roberta.tokenIDs("a <mask> </s> b").contains(where: { $0 < 5 }))
    }

    @Test func decodingGivesBackTheText() throws {
        let clip = try ByteLevelBPETokenizer(clipBPEFile: fixtures + "/clip-2k/bpe_simple_vocab_2k.txt.gz")
        let text = "Small left pleural effusion, 1.2 cm; naïve 肺炎 👍."
        #expect(clip.decode(clip.encode(text, contextLength: 77).ids) == "small left pleural effusion , 1 . 2 cm ; naïve 肺炎 👍.")
        let roberta = try #require(try TokenizerFiles.load(directory: fixtures + "/roberta-tiny") as? ByteLevelBPETokenizer)
        #expect(roberta.decode(roberta.encode(text, contextLength: 64).ids) == text)
    }

    @Test func aLongWordWithoutSpacesIsMergedWithoutHanging() throws {
        let clip = try ByteLevelBPETokenizer(clipBPEFile: fixtures + "/clip-2k/bpe_simple_vocab_2k.txt.gz")
        let word = String(repeating: "pneumonoultramicroscopicsilicovolcanoconiosis", count: 20_000)  // 900 kB, one piece
        let text = outcome(within: 120) {
            let ids = clip.tokenIDs(word)
            guard ids.count > 20_000, clip.decode(ids) == word else { throw DataError.badText(source: "test", problem: "wrong round trip") }
        }
        #expect(try #require(text, "BPE over a 900 kB word did not finish in 120 s") == "ok")
    }
}

/// IU X-ray reports (../shared/data): the full ids of every 20th report, and hashes of the ids of all 3955.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: iuReports), "IU X-ray reports not found at ../shared/data (shared data absent)"))
struct TokenizerIUReportTests {
    private let reference: [String: Any]
    private let texts: [String]

    init() throws {
        let data = try CompressedFile.contents(of: fixtures + "/iu-reports.json.gz")
        reference = try JSONSerialization.jsonObject(with: Data(data)) as! [String: Any]
        let table = try CSVTable(path: iuReports)
        let column = try table.column("report")
        texts = table.rows.map { $0[column] }
    }

    /// The low 16 bits of FNV-1a 64, as 4 hex digits, and the running 64-bit hash over everything.
    private static func hashes(_ items: [[UInt8]]) -> (short: String, all: String) {
        var all = FNV1a64()
        var short = ""
        for bytes in items {
            var one = FNV1a64()
            one.update(bytes)
            all.update(bytes)
            short += String(format: "%04x", one.value & 0xFFFF)
        }
        return (short, String(format: "%016llx", all.value))
    }

    private static func bytes(_ ids: [Int32]) -> [UInt8] {
        ids.flatMap { id in withUnsafeBytes(of: id.littleEndian) { Array($0) } }
    }

    @Test func theReportsAreTheOnesTheReferenceWasMadeFrom() throws {
        #expect(texts.count == reference["count"] as! Int)
        let h = Self.hashes(texts.map { Array($0.utf8) })
        #expect(h.short == reference["textHashes"] as! String)
        let withSeparators = Self.hashes(texts.map { Array($0.utf8) + [0] })
        #expect(withSeparators.all == reference["allTextHash"] as! String)
    }

    /// Every report through `tokenizer`: the sampled reports' ids exactly, every report's by hash. Returns
    /// the number identical to the reference.
    private func compare(_ tokenizer: any TextTokenizer, _ name: String) throws -> Int {
        let entry = reference[name] as! [String: Any]
        let ids = texts.map { framed(tokenizer, $0) }
        let sample = reference["sampleRows"] as! [Int]
        let expected = (entry["sample"] as! [[Int]]).map { $0.map(Int32.init) }
        #expect(sample.count == 198)
        for (row, want) in zip(sample, expected) {
            #expect(ids[row] == want, "\(name): report \(row) (\((reference["ids"] as! [String])[row])) differs:\n  got      \(ids[row])\n  expected \(want)")
        }
        let h = Self.hashes(ids.map(Self.bytes))
        let wantShort = Array(entry["hashes"] as! String)
        let gotShort = Array(h.short)
        let differing = (0..<texts.count).filter { gotShort[4 * $0..<4 * $0 + 4] != wantShort[4 * $0..<4 * $0 + 4] }
        #expect(differing.isEmpty, "\(name): \(differing.count) reports differ, rows \(differing.prefix(20))")
        #expect(h.all == entry["allHash"] as! String, "\(name): the ids of all \(texts.count) reports together differ")
        return h.all == entry["allHash"] as! String ? texts.count : texts.count - max(differing.count, 1)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: realCLIP), Comment(rawValue: externalMissing)))
    func clipOnAllReportsMatchesOpenCLIP() throws {
        let same = try compare(try TokenizerFiles.load(directory: realCLIP), "clip-real")
        #expect(same == 3955)
        // HF's CLIPTokenizer leaves "&gt;" and "&lt;" as written; two reports have them.
        #expect((reference["clip-real"] as! [String: Any])["otherDiffers"] as! [Int] == [143, 3841])
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: realMiniLM), Comment(rawValue: externalMissing)))
    func miniLMOnAllReportsMatchesHF() throws {
        #expect(try compare(try TokenizerFiles.load(directory: realMiniLM), "minilm") == 3955)
        #expect(((reference["minilm"] as! [String: Any])["otherDiffers"] as! [Int]).isEmpty)
    }

    @Test func robertaOnAllReportsMatchesHF() throws {
        #expect(try compare(try TokenizerFiles.load(directory: fixtures + "/roberta-tiny"), "roberta-tiny") == 3955)
    }
}
