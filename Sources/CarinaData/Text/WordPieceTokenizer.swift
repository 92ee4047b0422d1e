// BERT's WordPiece tokenizer: basic tokenisation (lower-casing, accent stripping, splitting on whitespace
// and punctuation), then greedy longest-match-first word pieces with `##` continuations and [UNK] for
// words that cannot be split; [CLS] ... [SEP], truncation and [PAD] to a context length. Loads a BERT
// vocab.txt (line number = id). Not for: building vocabularies (VocabularyBuilder).
import Foundation

public struct WordPieceTokenizer: Sendable {
    public let vocabulary: [String]
    private let ids: [String: Int32]
    public let lowercase: Bool
    public let clsID: Int32, sepID: Int32, padID: Int32, maskID: Int32, unkID: Int32
    /// Words longer than this (in characters) become [UNK], as in BERT.
    public let maxWordLength = 100

    public static let specialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

    public init(vocabulary: [String], lowercase: Bool = true, source: String = "vocabulary") throws {
        var ids: [String: Int32] = [:]
        for (i, token) in vocabulary.enumerated() where ids[token] == nil { ids[token] = Int32(i) }
        func special(_ name: String) throws -> Int32 {
            guard let id = ids[name] else { throw DataError.badText(source: source, problem: "vocabulary has no \(name) token") }
            return id
        }
        self.vocabulary = vocabulary
        self.ids = ids
        self.lowercase = lowercase
        clsID = try special("[CLS]")
        sepID = try special("[SEP]")
        padID = try special("[PAD]")
        maskID = try special("[MASK]")
        unkID = try special("[UNK]")
    }

    /// Loads a BERT-format vocab.txt: one token per line, the line number (from 0) is its id.
    public init(vocabularyFile path: String, lowercase: Bool = true) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError.badText(source: path, problem: "cannot read the vocabulary file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataError.badText(source: path, problem: "the vocabulary is not UTF-8")
        }
        var lines = text.components(separatedBy: "\n").map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }
        if lines.last == "" { lines.removeLast() }
        try self.init(vocabulary: lines, lowercase: lowercase, source: path)
    }

    public var vocabularySize: Int { vocabulary.count }

    public func id(of token: String) -> Int32? { ids[token] }

    /// BERT's basic tokenisation: optional lower-casing and accent stripping, control characters removed,
    /// split on whitespace, every punctuation character its own token.
    public static func basicTokens(_ text: String, lowercase: Bool) -> [String] {
        var s = text
        if lowercase {
            s = s.lowercased().folding(options: .diacriticInsensitive, locale: nil)
        }
        var out: [String] = []
        var current = ""
        for ch in s {
            if ch.isWhitespace || ch.isNewline {
                if !current.isEmpty { out.append(current); current = "" }
            } else if ch.unicodeScalars.allSatisfy({ $0.properties.generalCategory == .control || $0.properties.generalCategory == .format }) {
                continue
            } else if isPunctuation(ch) {
                if !current.isEmpty { out.append(current); current = "" }
                out.append(String(ch))
            } else {
                current.append(ch)
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// BERT treats all non-letter/number ASCII characters and Unicode punctuation as punctuation.
    static func isPunctuation(_ ch: Character) -> Bool {
        guard let scalar = ch.unicodeScalars.first else { return false }
        let v = scalar.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// The word pieces of one basic token: greedy longest match first; [UNK] if some part matches nothing.
    public func wordPieces(_ word: String) -> [String] {
        let chars = Array(word)
        if chars.count > maxWordLength { return ["[UNK]"] }
        var pieces: [String] = []
        var start = 0
        while start < chars.count {
            var end = chars.count
            var found: String? = nil
            while start < end {
                let piece = (start > 0 ? "##" : "") + String(chars[start..<end])
                if ids[piece] != nil { found = piece; break }
                end -= 1
            }
            guard let found else { return ["[UNK]"] }
            pieces.append(found)
            start = end
        }
        return pieces
    }

    /// Word pieces of a text (no [CLS]/[SEP]).
    public func tokenize(_ text: String) -> [String] {
        WordPieceTokenizer.basicTokens(text, lowercase: lowercase).flatMap(wordPieces)
    }

    /// [CLS] pieces [SEP], truncated to `contextLength` (keeping [SEP] last) and padded with [PAD]; the
    /// padding mask has 1 for tokens and 0 for padding.
    public func encode(_ text: String, contextLength: Int) -> (ids: [Int32], padding: [Float]) {
        precondition(contextLength >= 2, "a context needs room for [CLS] and [SEP]")
        let pieces = tokenize(text).prefix(contextLength - 2).map { ids[$0] ?? unkID }
        var out = [clsID] + pieces + [sepID]
        let used = out.count
        out += [Int32](repeating: padID, count: contextLength - used)
        return (out, (0..<contextLength).map { $0 < used ? 1 : 0 })
    }

    /// The text of token ids: specials dropped, `##` pieces joined to the previous piece.
    public func decode(_ tokenIDs: [Int32]) -> String {
        var words: [String] = []
        for id in tokenIDs {
            guard id >= 0 && Int(id) < vocabulary.count else { continue }
            let token = vocabulary[Int(id)]
            if WordPieceTokenizer.specialTokens.contains(token) && token != "[UNK]" { continue }
            if token.hasPrefix("##"), !words.isEmpty { words[words.count - 1] += token.dropFirst(2) } else { words.append(token) }
        }
        return words.joined(separator: " ")
    }
}
