// BERT's WordPiece tokenizer: basic tokenisation (control characters dropped, CJK ideographs split,
// lower-casing, accent stripping, splitting on whitespace and punctuation), then greedy longest-match-first
// word pieces with `##` continuations and [UNK] for words that cannot be split; [CLS] ... [SEP], truncation
// and [PAD] to a context length. Loads a BERT vocab.txt (line number = id); the cased/uncased settings of a
// HF directory come from its tokenizer_config.json (TokenizerFiles). Not for: building vocabularies.
import Foundation

public struct WordPieceTokenizer: TextTokenizer {
    public let vocabulary: [String]
    private let ids: [String: Int32]
    /// HF's `do_lower_case`: lower-case (and, unless `stripAccents` is false, strip accents).
    public let lowercase: Bool
    /// HF's `strip_accents`: nil follows `lowercase`; true strips accents from cased text too; false keeps
    /// them in lower-cased text.
    public let stripAccents: Bool?
    /// HF's `tokenize_chinese_chars`: put spaces around CJK ideographs, so each is a word.
    public let tokenizeChineseChars: Bool
    public let clsID: Int32, sepID: Int32, padID: Int32, maskID: Int32, unkID: Int32
    /// Words longer than this (in Unicode scalars) become [UNK], as in BERT.
    public let maxWordLength = 100

    public static let specialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

    /// The most tokens a vocabulary may hold: 1,000,000 (BERT's are 30,522; multilingual BERT's 119,547).
    public static let maxVocabularyTokens = 1_000_000
    /// The longest token, in UTF-8 bytes: 1024 (a piece longer than `maxWordLength` characters never matches).
    public static let maxTokenBytes = 1024
    /// The largest vocab.txt read: 64 MiB, checked before it is read.
    public static let maxVocabularyFileBytes = 1 << 26

    /// A tokenizer over `vocabulary` (index = id). Throws, naming `source` and the token's line (id + 1),
    /// on more than `maxVocabularyTokens` tokens, an empty or over-long token, a token listed twice, or a
    /// missing special token. `lowercase`, `stripAccents` and `tokenizeChineseChars` are HF's
    /// `do_lower_case`, `strip_accents` and `tokenize_chinese_chars` (defaults: BERT uncased).
    public init(vocabulary: [String], lowercase: Bool = true, stripAccents: Bool? = nil, tokenizeChineseChars: Bool = true,
                source: String = "vocabulary") throws {
        guard vocabulary.count <= Self.maxVocabularyTokens else {
            throw DataError.badText(source: source, problem: "\(vocabulary.count) tokens, over the limit of \(Self.maxVocabularyTokens)")
        }
        var ids: [String: Int32] = [:]
        for (i, token) in vocabulary.enumerated() {
            func bad(_ problem: String) -> DataError { .badText(source: source, problem: "line \(i + 1): \(problem)") }
            guard !token.isEmpty else { throw bad("the token is empty") }
            guard token.utf8.count <= Self.maxTokenBytes else {
                throw bad("the token is \(token.utf8.count) bytes long, over the limit of \(Self.maxTokenBytes)")
            }
            if let first = ids.updateValue(Int32(i), forKey: token) {
                throw bad("the token \(token.debugDescription) repeats line \(first + 1)")
            }
        }
        func special(_ name: String) throws -> Int32 {
            guard let id = ids[name] else { throw DataError.badText(source: source, problem: "vocabulary has no \(name) token") }
            return id
        }
        self.vocabulary = vocabulary
        self.ids = ids
        self.lowercase = lowercase
        self.stripAccents = stripAccents
        self.tokenizeChineseChars = tokenizeChineseChars
        clsID = try special("[CLS]")
        sepID = try special("[SEP]")
        padID = try special("[PAD]")
        maskID = try special("[MASK]")
        unkID = try special("[UNK]")
    }

    /// Loads a BERT-format vocab.txt: one token per line, the line number (from 0) is its id. Only a regular
    /// file of at most `maxVocabularyFileBytes` is read; lines are checked as they are split (a line over
    /// `maxTokenBytes`, or more than `maxVocabularyTokens` lines, stops the read naming the line).
    public init(vocabularyFile path: String, lowercase: Bool = true, stripAccents: Bool? = nil, tokenizeChineseChars: Bool = true) throws {
        let data: [UInt8]
        do {
            data = try FileBytes.contents(of: path, maxBytes: Self.maxVocabularyFileBytes)
        } catch {
            throw DataError.badText(source: path, problem: "cannot read the vocabulary file: \(error)")
        }
        var lines = [String]()
        var start = 0
        while start < data.count {
            let end = data[start...].firstIndex(of: 10) ?? data.count
            var line = data[start..<end]
            if line.last == 13 { line = line.dropLast() }
            guard lines.count < Self.maxVocabularyTokens else {
                throw DataError.badText(source: path, problem: "line \(lines.count + 1): more than \(Self.maxVocabularyTokens) tokens, the limit")
            }
            guard line.count <= Self.maxTokenBytes else {
                throw DataError.badText(source: path, problem: "line \(lines.count + 1): the token is \(line.count) bytes long, over the limit of \(Self.maxTokenBytes)")
            }
            guard let token = String(validating: line, as: UTF8.self) else {
                throw DataError.badText(source: path, problem: "line \(lines.count + 1): not valid UTF-8")
            }
            lines.append(token)
            start = end + 1
        }
        try self.init(vocabulary: lines, lowercase: lowercase, stripAccents: stripAccents, tokenizeChineseChars: tokenizeChineseChars,
                      source: path)
    }

    public var vocabularySize: Int { vocabulary.count }

    public var specials: SpecialTokenIDs { SpecialTokenIDs(start: clsID, end: sepID, pad: padID, unknown: unkID, mask: maskID) }

    public func id(of token: String) -> Int32? { ids[token] }

    public func continuesWord(_ id: Int32) -> Bool { Int(id) >= 0 && Int(id) < vocabulary.count && vocabulary[Int(id)].hasPrefix("##") }

    /// BERT's basic tokenisation, as HF transformers' Python `BasicTokenizer` with `do_lower_case =
    /// lowercase`, `strip_accents = stripAccents` and `tokenize_chinese_chars = tokenizeChineseChars`, over
    /// Unicode scalars (Python's characters):
    /// delete U+0000, U+FFFD and every category-C scalar except \t \n \r (so U+000B, U+000C, U+0085 and
    /// format characters such as U+200D vanish, joining their neighbours); turn " ", \t, \n, \r and Zs into
    /// spaces; put spaces around CJK ideographs (when `tokenizeChineseChars`); NFC; split on whitespace (also
    /// U+2028, U+2029, as Python's `str.split`); when lower-casing, lower-case each word (Python's `str.lower`,
    /// final sigma included); strip accents (NFD and drop Mn marks) when `stripAccents` is true, or nil and
    /// lower-casing; then every punctuation scalar is its own token.
    ///
    /// Residual differences from HF: the Unicode tables are Swift's, newer than those of the Python HF ran
    /// on (Python 3.11 has Unicode 14), so a scalar assigned since (U+1FAE8 is Unicode 15) is kept here but
    /// deleted there as unassigned (Cn). HF's Rust `BertTokenizer` (the default in transformers 5, the
    /// "fast" one before) differs from its own Python one: no NFC and no final sigma; this follows the
    /// Python one (and original BERT, which lacks only the NFC step).
    public static func basicTokens(_ text: String, lowercase: Bool, stripAccents: Bool? = nil, tokenizeChineseChars: Bool = true) -> [String] {
        var cleaned = String.UnicodeScalarView()
        for u in text.unicodeScalars {
            if u.value == 0 || u.value == 0xFFFD || isControl(u) { continue }
            if isWhitespace(u) {
                cleaned.append(" ")
            } else if tokenizeChineseChars && isCJKIdeograph(u) {
                cleaned.append(" "); cleaned.append(u); cleaned.append(" ")
            } else {
                cleaned.append(u)
            }
        }
        let normalised = normalized(String(cleaned), decomposed: false)
        var out: [String] = []
        // After cleaning only spaces and U+2028, U+2029 are left of Python's `str.split` whitespace.
        for word in normalised.unicodeScalars.split(whereSeparator: { $0.properties.isWhitespace }) {
            var scalars = Array(word)
            if lowercase { scalars = pythonLowercased(scalars) }
            if stripAccents ?? lowercase {
                scalars = normalized(String(String.UnicodeScalarView(scalars)), decomposed: true)
                    .unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark }
            }
            var current = String.UnicodeScalarView()
            for u in scalars {
                if isPunctuation(u) {
                    if !current.isEmpty { out.append(String(current)); current = String.UnicodeScalarView() }
                    out.append(String(u))
                } else {
                    current.append(u)
                }
            }
            if !current.isEmpty { out.append(String(current)) }
        }
        return out
    }

    /// BERT's control characters: category C (Cc, Cf, Co, Cn; Swift strings hold no Cs) except \t \n \r.
    static func isControl(_ u: Unicode.Scalar) -> Bool {
        if u == "\t" || u == "\n" || u == "\r" { return false }
        switch u.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    /// BERT's whitespace: " ", \t, \n, \r and category Zs (not U+000B, U+000C, U+0085: those are controls).
    static func isWhitespace(_ u: Unicode.Scalar) -> Bool {
        u == " " || u == "\t" || u == "\n" || u == "\r" || u.properties.generalCategory == .spaceSeparator
    }

    /// BERT's "Chinese characters": the CJK Unified Ideographs blocks and their extensions A to E, and
    /// the compatibility ideographs (not Hangul, Hiragana or Katakana).
    static func isCJKIdeograph(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// BERT treats all non-letter/number ASCII characters and Unicode punctuation (category P) as punctuation.
    static func isPunctuation(_ u: Unicode.Scalar) -> Bool {
        let v = u.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch u.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// Python's `str.lower`: each scalar's full lower-case mapping, and capital sigma becomes final sigma
    /// when a cased letter precedes it and none follows (case-ignorable scalars skipped both ways).
    /// Swift's `lowercased()` has no final sigma.
    static func pythonLowercased(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        for (i, u) in s.enumerated() {
            if u.value < 0x80 {
                out.append(u.value >= 65 && u.value <= 90 ? Unicode.Scalar(u.value + 32)! : u)
            } else if u == "\u{03A3}" {
                let before = s[..<i].last { !$0.properties.isCaseIgnorable }
                let after = s[(i + 1)...].first { !$0.properties.isCaseIgnorable }
                let final = before?.properties.isCased == true && after?.properties.isCased != true
                out.append(final ? "\u{03C2}" : "\u{03C3}")
            } else {
                out.append(contentsOf: u.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return out
    }

    /// NFC (or NFD when `decomposed`); ASCII text is its own normal form.
    static func normalized(_ s: String, decomposed: Bool) -> String {
        if s.utf8.allSatisfy({ $0 < 0x80 }) { return s }
        return decomposed ? s.decomposedStringWithCanonicalMapping : s.precomposedStringWithCanonicalMapping
    }

    /// The word pieces of one basic token: greedy longest match first over Unicode scalars (as HF, so a
    /// piece may end inside a grapheme cluster); [UNK] if some part matches nothing or the word has more
    /// than `maxWordLength` scalars.
    public func wordPieces(_ word: String) -> [String] {
        let chars = Array(word.unicodeScalars)
        if chars.count > maxWordLength { return ["[UNK]"] }
        var pieces: [String] = []
        var start = 0
        while start < chars.count {
            var end = chars.count
            var found: String? = nil
            while start < end {
                let piece = (start > 0 ? "##" : "") + String(String.UnicodeScalarView(chars[start..<end]))
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
        WordPieceTokenizer.basicTokens(text, lowercase: lowercase, stripAccents: stripAccents, tokenizeChineseChars: tokenizeChineseChars)
            .flatMap(wordPieces)
    }

    public func tokenIDs(_ text: String) -> [Int32] { tokenize(text).map { ids[$0] ?? unkID } }

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
