// WordPiece tokenisation (hand-worked BERT examples and real IU reports), the vocabulary builder, and the
// CSV reader on the quirks real manifests have.
import Foundation
import Testing
import CarinaData

private let iuReports = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("../shared/data/iu-xray-reports/reports.csv").standardizedFileURL.path

@Suite struct TextTests {
    /// The vocabulary of BERT's own tokenizer test.
    let bert = try! WordPieceTokenizer(vocabulary: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "want", "##want", "##ed", "wa", "un", "runn", "##ing", ","])

    @Test func greedyLongestMatchWithContinuations() {
        #expect(bert.tokenize("UNwant\u{00E9}d,running") == ["un", "##want", "##ed", ",", "runn", "##ing"])
        #expect(bert.tokenize("unwantedX running") == ["[UNK]", "runn", "##ing"])
        #expect(bert.tokenize("") == [])
    }

    @Test func encodeAddsSpecialsTruncatesKeepingSepAndPads() {
        let (ids, padding) = bert.encode("unwanted running", contextLength: 8)
        #expect(ids == [2, 9, 6, 7, 10, 11, 3, 0])
        #expect(padding == [1, 1, 1, 1, 1, 1, 1, 0])
        let short = bert.encode("unwanted running", contextLength: 4)
        #expect(short.ids == [2, 9, 6, 3] && short.padding == [1, 1, 1, 1])
        #expect(bert.decode(ids) == "unwanted running")
    }

    @Test func vocabularyWithoutSpecialTokensIsRejected() {
        #expect(throws: DataError.self) { try WordPieceTokenizer(vocabulary: ["a", "b"]) }
    }

    @Test func vocabularyBuilderIsDeterministicAndCoversEveryCharacter() throws {
        let corpus = ["Small left pleural effusion.", "No pneumothorax; heart size normal.", "Effusions resolved, résumé"]
        let a = VocabularyBuilder.build(corpus: corpus, size: 60), b = VocabularyBuilder.build(corpus: corpus.reversed(), size: 60)
        #expect(a == b && a.count == 60 && Array(a.prefix(5)) == WordPieceTokenizer.specialTokens)
        let tokenizer = try WordPieceTokenizer(vocabulary: a)
        for text in corpus { #expect(!tokenizer.tokenize(text).contains("[UNK]"), "\(tokenizer.tokenize(text))") }
        let path = NSTemporaryDirectory() + "vocab-\(UUID().uuidString).txt"
        try VocabularyBuilder.write(a, to: path)
        #expect(try WordPieceTokenizer(vocabularyFile: path).vocabulary == a)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: iuReports), "IU X-ray reports not found at ../shared/data (shared data absent)"))
    func realIUReportsRoundTrip() throws {
        let table = try CSVTable(path: iuReports)
        let report = try table.column("report")
        let texts = table.rows.map { $0[report] }
        #expect(texts.count == 3955)
        let tokenizer = try WordPieceTokenizer(vocabulary: VocabularyBuilder.build(corpus: texts, size: 4000))
        for text in texts.prefix(500) {
            let normalised = WordPieceTokenizer.basicTokens(text, lowercase: true).joined(separator: " ")
            let (ids, _) = tokenizer.encode(text, contextLength: 512)
            #expect(tokenizer.decode(ids) == normalised)
        }
    }

    @Test func csvHandlesQuotesNewlinesCRLFAndBOM() throws {
        let text = "\u{FEFF}id,report,labels\r\n1,\"FINDINGS: a, b\nIMPRESSION: \"\"none\"\"\",x|y\r\n2,plain,\n"
        let t = try CSVTable(text: text, source: "m.csv")
        #expect(t.header == ["id", "report", "labels"])
        #expect(t.rows == [["1", "FINDINGS: a, b\nIMPRESSION: \"none\"", "x|y"], ["2", "plain", ""]])
        #expect(t.lines == [2, 4])
    }

    @Test func csvErrorsNameFileLineAndColumn() {
        #expect(throws: DataError.badText(source: "m.csv:3", problem: "1 fields where the header has 2")) {
            try CSVTable(text: "a,b\n1,2\n3\n", source: "m.csv")
        }
        #expect(throws: DataError.self) { try CSVTable(text: "a,b\n\"1,2\n", source: "m.csv") }
        do {
            _ = try CSVTable(text: "a,b\n1,2\n", source: "m.csv").column("report")
            Issue.record("missing column accepted")
        } catch { #expect("\(error)".contains("m.csv: no column 'report'")) }
    }
}
