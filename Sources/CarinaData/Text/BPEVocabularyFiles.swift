// Reads byte-level BPE vocabularies from elsewhere: HF's vocab.json (a flat JSON object, token -> id) and
// merges.txt (one "left right" pair per line, "#version" lines skipped), and open_clip's / OpenAI CLIP's
// bpe_simple_vocab_16e6.txt.gz (merges only; the vocabulary follows from them). Every file is untrusted: a
// regular file of bounded size, a bounded number of bounded tokens, ids that number the tokens 0..<n without
// gaps or repeats, and errors that name the file and the line. Not for: tokenising (ByteLevelBPETokenizer).

/// The special tokens of a byte-level BPE vocabulary, by name.
public struct BPESpecialTokenNames: Sendable, Equatable {
    public var start: String
    public var end: String
    /// nil: pad with id 0, as OpenAI CLIP and open_clip do.
    public var pad: String?
    public var unknown: String?
    public var mask: String?

    public init(start: String, end: String, pad: String?, unknown: String? = nil, mask: String? = nil) {
        self.start = start
        self.end = end
        self.pad = pad
        self.unknown = unknown
        self.mask = mask
    }

    public static let clip = BPESpecialTokenNames(start: "<|startoftext|>", end: "<|endoftext|>", pad: nil)
    public static let roberta = BPESpecialTokenNames(start: "<s>", end: "</s>", pad: "<pad>", unknown: "<unk>", mask: "<mask>")
}

extension ByteLevelBPETokenizer {
    /// The largest vocab.json, merges.txt or decompressed bpe file read: 64 MiB (CLIP's vocab.json is 1.6 MB,
    /// its decompressed bpe file 3.4 MB).
    public static let maxFileBytes = 1 << 26
    /// The merges open_clip and OpenAI CLIP take from their bpe file (lines 2 to 48,895): 49,408 tokens less
    /// 512 byte symbols and 2 specials.
    public static let clipMergeCount = 49_152 - 256 - 2

    /// A tokenizer from HF's `vocab.json` and `merges.txt` (as the hub ships CLIP, RoBERTa and GPT-2).
    public init(style: Style, vocabularyFile: String, mergesFile: String, specialTokens: BPESpecialTokenNames? = nil) throws {
        let names = specialTokens ?? (style == .clip ? .clip : .roberta)
        let vocabulary = try Self.readVocabularyJSON(vocabularyFile)
        let merges = try Self.readMerges(mergesFile, skipFirstLine: false)
        var ids: [String: Int32] = [:]
        for (i, token) in vocabulary.enumerated() { ids[token] = Int32(i) }
        func id(_ name: String?, _ role: String) throws -> Int32? {
            guard let name else { return nil }
            guard let id = ids[name] else {
                throw DataError.badText(source: vocabularyFile, problem: "the vocabulary has no \(role) token \(name.debugDescription)")
            }
            return id
        }
        let specials = SpecialTokenIDs(start: try id(names.start, "start")!, end: try id(names.end, "end")!,
                                       pad: try id(names.pad, "padding") ?? 0,
                                       unknown: try id(names.unknown, "unknown"), mask: try id(names.mask, "mask"))
        try self.init(style: style, vocabulary: vocabulary, merges: merges, specials: specials,
                      source: vocabularyFile + " with " + mergesFile)
    }

    /// CLIP's tokenizer from open_clip's or OpenAI CLIP's `bpe_simple_vocab_16e6.txt.gz` (or a file in its
    /// format, gzipped when named .gz): its first line is a header, the next `clipMergeCount` lines are the
    /// merges (fewer in a shorter file; later lines are not used, as open_clip does), and the vocabulary is
    /// the 256 byte symbols, the same with "</w>", each merge's result in order, then <|startoftext|> and
    /// <|endoftext|> — 49,408 tokens for the real file.
    public init(clipBPEFile path: String) throws {
        let merges = try Self.readMerges(path, skipFirstLine: true, limit: Self.clipMergeCount)
        var vocabulary = Self.byteOrder.map { Self.byteSymbols[$0] }
        vocabulary += vocabulary.map { $0 + Self.endOfWord }
        var made: [String: Int] = [:]
        for token in vocabulary { made[token] = 0 }
        for merge in merges {
            let result = merge.left + merge.right
            if let first = made.updateValue(merge.line, forKey: result) {
                throw DataError.badText(source: path, problem: "line \(merge.line): the merge makes \(result.debugDescription), which "
                                        + (first == 0 ? "is a byte symbol" : "line \(first) already makes") + " (a token would be listed twice)")
            }
            vocabulary.append(result)
        }
        vocabulary += ["<|startoftext|>", "<|endoftext|>"]
        let count = Int32(vocabulary.count)
        try self.init(style: .clip, vocabulary: vocabulary, merges: merges,
                      specials: SpecialTokenIDs(start: count - 2, end: count - 1, pad: 0), source: path)
    }

    /// GPT-2's order of the byte symbols in a vocabulary built from merges: the printable bytes, then the rest.
    static let byteOrder: [Int] = {
        let printable = (0..<256).filter { (33...126).contains($0) || (161...172).contains($0) || (174...255).contains($0) }
        return printable + (0..<256).filter { !printable.contains($0) }
    }()

    /// The merges of a merges.txt (or bpe file): each line "left right", two non-empty tokens of at most
    /// `maxTokenBytes` bytes separated by one space. Lines starting with "#version" are skipped (HF), and
    /// the first line whatever it holds when `skipFirstLine` (open_clip). With `limit`, the merges after the
    /// first `limit` are not read (open_clip's rule; the file is still bounded by `maxFileBytes`); without
    /// it, more than `maxVocabularyTokens` merges are an error. A .gz name means gzip, and only then.
    static func readMerges(_ path: String, skipFirstLine: Bool, limit: Int? = nil) throws -> [(left: String, right: String, line: Int)] {
        let data: [UInt8]
        do {
            data = try CompressedFile.contents(of: path, maxBytes: maxFileBytes, maxLineBytes: 2 * maxTokenBytes + 1, what: "a merges file")
        } catch let error as DataError {
            if case let .badRecord(_, record, _, problem) = error { throw DataError.badText(source: path, problem: "\(record): \(problem)") }
            throw error
        }
        var merges: [(left: String, right: String, line: Int)] = []
        var start = 0, line = 0
        while start < data.count && merges.count < (limit ?? Int.max) {
            line += 1
            let end = data[start...].firstIndex(of: 10) ?? data.count
            var bytes = data[start..<end]
            start = end + 1
            if bytes.last == 13 { bytes = bytes.dropLast() }
            if line == 1 && skipFirstLine { continue }
            if bytes.starts(with: Array("#version".utf8)) { continue }
            func bad(_ problem: String) -> DataError { .badText(source: path, problem: "line \(line): \(problem)") }
            guard let text = String(validating: bytes, as: UTF8.self) else { throw bad("not valid UTF-8") }
            let parts = text.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw bad("expected a merge, two tokens separated by one space, found \(text.debugDescription)")
            }
            guard merges.count < maxVocabularyTokens else { throw bad("more than \(maxVocabularyTokens) merges, the limit") }
            merges.append((String(parts[0]), String(parts[1]), line))
        }
        return merges
    }

    /// The tokens of a vocab.json, by id: a JSON object of strings to integers that number them 0..<n,
    /// each once. Parsed here, not by JSONSerialization, so that a repeated token is an error (not silently
    /// the last one) and every error names its line and entry.
    static func readVocabularyJSON(_ path: String) throws -> [String] {
        let data: [UInt8]
        do {
            data = try FileBytes.contents(of: path, maxBytes: maxFileBytes)
        } catch {
            throw DataError.badText(source: path, problem: "cannot read the vocabulary file: \(error)")
        }
        var reader = FlatJSONReader(bytes: data, source: path)
        let entries = try reader.stringToIntegerObject(maxEntries: maxVocabularyTokens, maxKeyBytes: maxTokenBytes)
        var tokens = [String?](repeating: nil, count: entries.count)
        var entryOfToken: [String: Int] = [:]
        for (k, entry) in entries.enumerated() {
            func bad(_ problem: String) -> DataError {
                .badText(source: path, problem: "line \(entry.line), entry \(k + 1) (\(entry.key.debugDescription)): \(problem)")
            }
            guard !entry.key.isEmpty else { throw bad("the token is empty") }
            if let first = entryOfToken.updateValue(k, forKey: entry.key) { throw bad("the token repeats entry \(first + 1)") }
            guard entry.value >= 0 && entry.value < entries.count else {
                throw bad("the id \(entry.value) is outside 0..<\(entries.count) (ids must number the \(entries.count) tokens without gaps)")
            }
            if let other = tokens[entry.value] { throw bad("the id \(entry.value) is also the id of \(other.debugDescription)") }
            tokens[entry.value] = entry.key
        }
        return tokens.map { $0! }
    }
}

/// A strict reader for the one JSON shape vocab.json has: `{"token": 123, ...}`. Standard JSON (RFC 8259)
/// strings and integers only; every error names the line.
struct FlatJSONReader {
    let bytes: [UInt8]
    let source: String
    var position = 0
    var line = 1

    init(bytes: [UInt8], source: String) {
        self.bytes = bytes
        self.source = source
    }

    func bad(_ problem: String) -> DataError { .badText(source: source, problem: "line \(line): \(problem)") }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0D: position += 1
            case 0x0A: position += 1; line += 1
            default: return
            }
        }
    }

    mutating func expect(_ byte: UInt8, _ what: String) throws {
        skipWhitespace()
        guard position < bytes.count else { throw bad("the file ends where \(what) was expected") }
        guard bytes[position] == byte else { throw bad("expected \(what), found \(describe(bytes[position]))") }
        position += 1
    }

    func describe(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    /// The object's entries in file order, with the line each key starts on.
    mutating func stringToIntegerObject(maxEntries: Int, maxKeyBytes: Int) throws -> [(key: String, value: Int, line: Int)] {
        try expect(UInt8(ascii: "{"), "'{' (a JSON object of tokens to ids)")
        var entries: [(key: String, value: Int, line: Int)] = []
        skipWhitespace()
        if position < bytes.count && bytes[position] == UInt8(ascii: "}") {
            position += 1
        } else {
            while true {
                skipWhitespace()
                let keyLine = line
                guard entries.count < maxEntries else { throw bad("more than \(maxEntries) tokens, the limit") }
                let key = try string(maxBytes: maxKeyBytes)
                try expect(UInt8(ascii: ":"), "':' after a token")
                let value = try integer()
                entries.append((key, value, keyLine))
                skipWhitespace()
                guard position < bytes.count else { throw bad("the file ends inside the object") }
                let c = bytes[position]
                position += 1
                if c == UInt8(ascii: "}") { break }
                guard c == UInt8(ascii: ",") else { throw bad("expected ',' or '}', found \(describe(c))") }
            }
        }
        skipWhitespace()
        guard position == bytes.count else { throw bad("unexpected \(describe(bytes[position])) after the object") }
        return entries
    }

    /// A JSON string of at most `maxBytes` UTF-8 bytes once unescaped.
    mutating func string(maxBytes: Int) throws -> String {
        try expect(UInt8(ascii: "\""), "a token in double quotes")
        var out: [UInt8] = []
        while true {
            guard position < bytes.count else { throw bad("the file ends inside a string") }
            let c = bytes[position]
            position += 1
            if c == UInt8(ascii: "\"") { break }
            if c < 0x20 { throw bad("a control character (\(describe(c))) inside a string; JSON needs it escaped") }
            if c == UInt8(ascii: "\\") {
                guard position < bytes.count else { throw bad("the file ends inside a string") }
                let e = bytes[position]
                position += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var value = try hex4()
                    if (0xD800...0xDBFF).contains(value) {
                        guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                            throw bad("a lone UTF-16 surrogate \\u\(String(value, radix: 16, uppercase: true)) in a string")
                        }
                        position += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw bad("a lone UTF-16 surrogate in a string") }
                        value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(value) {
                        throw bad("a lone UTF-16 surrogate \\u\(String(value, radix: 16, uppercase: true)) in a string")
                    }
                    out += Array(String(Unicode.Scalar(value)!).utf8)
                default:
                    throw bad("an unknown escape \\\(Character(Unicode.Scalar(e))) in a string")
                }
            } else {
                out.append(c)
            }
            if out.count > maxBytes { throw bad("a token longer than \(maxBytes) bytes, the limit") }
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw bad("a string that is not valid UTF-8") }
        return text
    }

    mutating func hex4() throws -> UInt32 {
        guard position + 4 <= bytes.count else { throw bad("the file ends inside a \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[position]
            position += 1
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw bad("\(describe(c)) in a \\u escape, which needs four hex digits")
            }
            value = value << 4 | d
        }
        return value
    }

    /// A non-negative JSON integer below 2^31 (no sign, fraction or exponent).
    mutating func integer() throws -> Int {
        skipWhitespace()
        let start = position
        var value = 0
        while position < bytes.count, (0x30...0x39).contains(bytes[position]) {
            value = value * 10 + Int(bytes[position] - 0x30)
            position += 1
            guard value < Int(Int32.max) else { throw bad("an id too large for a vocabulary") }
        }
        guard position > start else {
            guard position < bytes.count else { throw bad("the file ends where an id was expected") }
            throw bad("expected a non-negative integer id, found \(describe(bytes[position]))")
        }
        if position - start > 1 && bytes[start] == 0x30 { throw bad("an id with a leading zero") }
        if position < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[position]) {
            throw bad("an id that is not a whole number")
        }
        return value
    }
}
