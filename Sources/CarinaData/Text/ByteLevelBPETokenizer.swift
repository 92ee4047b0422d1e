// Byte-level BPE as CLIP and RoBERTa compute it. CLIP (OpenAI CLIP, open_clip's SimpleTokenizer, HF
// CLIPTokenizer): CLIPTextCleaning's clean-up and lower-casing, CLIP's split pattern, "</w>" on each word's
// last symbol, <|startoftext|> ... <|endoftext|>, padding with 0. RoBERTa (HF RobertaTokenizer, GPT-2's
// scheme): the text as written, GPT-2's split pattern (a space travels with the next word, as "Ġ"),
// <s> ... </s>, padding with <pad>. Each piece's UTF-8 bytes become GPT-2's printable byte symbols, then
// merges are applied lowest rank first, leftmost first (HF tokenizers' order; for merge tables where each
// merge's parts come from earlier merges, as trained tables are, the same result as OpenAI's loop).
// Not for: reading vocab.json / merges.txt / open_clip's bpe file (BPEVocabularyFiles) or pre-tokenisation
// rules (BPEPreTokenizer).
import Foundation

public struct ByteLevelBPETokenizer: TextTokenizer {
    /// Which model family's rules apply.
    public enum Style: String, Sendable {
        /// CLIP: clean-up and lower-casing, CLIP's pattern, "</w>" ends each word, padding with id 0.
        case clip
        /// RoBERTa / GPT-2: text as written, GPT-2's pattern, no end-of-word marker, padding with <pad>.
        case roberta
    }

    public let style: Style
    /// Token of each id.
    public let vocabulary: [String]
    public let specials: SpecialTokenIDs
    public var vocabularySize: Int { vocabulary.count }
    /// The number of merges (ranks 0..<mergeCount).
    public let mergeCount: Int

    private let ids: [String: Int32]
    /// (left id << 32 | right id) -> (rank, id of the merged symbol).
    private let merges: [UInt64: (rank: Int32, result: Int32)]
    /// The id of each byte's symbol, and (CLIP) of the byte's symbol + "</w>" for a word's last byte.
    private let byteIDs: [Int32]
    private let finalByteIDs: [Int32]
    private let cache = BPECache()

    /// The most tokens a vocabulary may hold and the most merges a table may list: 1,000,000 each (CLIP has
    /// 49,408 tokens, RoBERTa 50,265).
    public static let maxVocabularyTokens = 1_000_000
    /// The longest token, in UTF-8 bytes: 1024.
    public static let maxTokenBytes = 1024
    /// CLIP's end-of-word marker.
    public static let endOfWord = "</w>"

    /// GPT-2's table from bytes to printable characters: printable Latin-1 bytes stand for themselves, the
    /// other 68 (controls, space, U+007F-U+00A0, U+00AD) become U+0100, U+0101, ... in byte order.
    public static let byteSymbols: [String] = {
        var table = [String](repeating: "", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            if printable {
                table[b] = String(Unicode.Scalar(UInt8(b)))
            } else {
                table[b] = String(Unicode.Scalar(next)!)
                next += 1
            }
        }
        return table
    }()

    /// A tokenizer over `vocabulary` (index = id) and `merges` (index = rank). Throws, naming `source`,
    /// when the vocabulary has more than `maxVocabularyTokens` tokens, an empty, over-long or repeated token,
    /// or lacks a byte symbol (with "</w>" too, for CLIP); when a merge names a symbol the vocabulary lacks
    /// or makes one it lacks (naming the merge's line), or repeats an earlier merge; or when a special id is
    /// outside the vocabulary.
    public init(style: Style, vocabulary: [String], merges: [(left: String, right: String, line: Int)],
                specials: SpecialTokenIDs, source: String) throws {
        guard vocabulary.count <= Self.maxVocabularyTokens else {
            throw DataError.badText(source: source, problem: "\(vocabulary.count) tokens, over the limit of \(Self.maxVocabularyTokens)")
        }
        guard merges.count <= Self.maxVocabularyTokens else {
            throw DataError.badText(source: source, problem: "\(merges.count) merges, over the limit of \(Self.maxVocabularyTokens)")
        }
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(vocabulary.count)
        for (i, token) in vocabulary.enumerated() {
            func bad(_ problem: String) -> DataError { .badText(source: source, problem: "token id \(i): \(problem)") }
            guard !token.isEmpty else { throw bad("the token is empty") }
            guard token.utf8.count <= Self.maxTokenBytes else {
                throw bad("the token is \(token.utf8.count) bytes long, over the limit of \(Self.maxTokenBytes)")
            }
            if let first = ids.updateValue(Int32(i), forKey: token) {
                throw bad("the token \(token.debugDescription) repeats id \(first)")
            }
        }
        var byteIDs = [Int32](repeating: 0, count: 256), finalByteIDs = byteIDs
        for b in 0..<256 {
            let symbol = Self.byteSymbols[b]
            guard let id = ids[symbol] else {
                throw DataError.badText(source: source, problem: "the vocabulary lacks the symbol \(symbol.debugDescription) of byte \(b) (a byte-level BPE vocabulary has all 256)")
            }
            byteIDs[b] = id
            if style == .clip {
                guard let final = ids[symbol + Self.endOfWord] else {
                    throw DataError.badText(source: source, problem: "the vocabulary lacks \((symbol + Self.endOfWord).debugDescription), byte \(b) ending a word (a CLIP vocabulary has all 256)")
                }
                finalByteIDs[b] = final
            } else {
                finalByteIDs[b] = id
            }
        }
        var table: [UInt64: (rank: Int32, result: Int32)] = [:]
        table.reserveCapacity(merges.count)
        var lineOfMerge: [UInt64: Int] = [:]
        for (rank, merge) in merges.enumerated() {
            func bad(_ problem: String) -> DataError { .badText(source: source, problem: "line \(merge.line): \(problem)") }
            guard let left = ids[merge.left] else { throw bad("the merge names \(merge.left.debugDescription), which is not in the vocabulary") }
            guard let right = ids[merge.right] else { throw bad("the merge names \(merge.right.debugDescription), which is not in the vocabulary") }
            guard let result = ids[merge.left + merge.right] else {
                throw bad("the merge makes \((merge.left + merge.right).debugDescription), which is not in the vocabulary")
            }
            let key = UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))
            if let first = lineOfMerge.updateValue(merge.line, forKey: key) {
                throw bad("the merge \((merge.left + " " + merge.right).debugDescription) repeats line \(first)")
            }
            table[key] = (Int32(rank), result)
        }
        for (name, id) in [("start", specials.start), ("end", specials.end), ("padding", specials.pad),
                           ("unknown", specials.unknown), ("mask", specials.mask)] {
            if let id, !(0..<Int32(vocabulary.count)).contains(id) {
                throw DataError.badText(source: source, problem: "the \(name) token id \(id) is outside the vocabulary of \(vocabulary.count)")
            }
        }
        self.style = style
        self.vocabulary = vocabulary
        self.specials = specials
        self.mergeCount = merges.count
        self.ids = ids
        self.merges = table
        self.byteIDs = byteIDs
        self.finalByteIDs = finalByteIDs
    }

    public func id(of token: String) -> Int32? { ids[token] }

    /// RoBERTa: a token without the leading-space symbol "Ġ" continues the previous word (the first word of a
    /// text has none, but follows <s>, which no word continues). CLIP marks word ends instead: a token
    /// continues the word when the token before it lacks "</w>", which this per-token test cannot see, so
    /// CLIP's tokens are treated as whole words (CLIP has no masked-language use).
    public func continuesWord(_ id: Int32) -> Bool {
        guard style == .roberta, Int(id) >= 0, Int(id) < vocabulary.count,
              ![specials.start, specials.end, specials.pad, specials.unknown, specials.mask].contains(id) else { return false }
        return !vocabulary[Int(id)].hasPrefix("\u{0120}")
    }

    /// The text as the pre-tokenizer sees it: for CLIP cleaned and lower-cased (CLIPTextCleaning), for
    /// RoBERTa unchanged.
    public func normalized(_ text: String) -> String {
        style == .clip ? CLIPTextCleaning.clean(text) : text
    }

    /// The pieces the merges run over (before the byte mapping), in order.
    public func preTokens(_ text: String) -> [String] {
        let scalars = Array(normalized(text).unicodeScalars)
        let ranges = style == .clip ? BPEPreTokenizer.clip(scalars) : BPEPreTokenizer.gpt2(scalars)
        return ranges.map { String(String.UnicodeScalarView(scalars[$0])) }
    }

    public func tokenIDs(_ text: String) -> [Int32] { tokenIDs(text, limit: Int.max) }

    /// The ids of the first pieces of `text`, stopping once at least `limit` ids are known (the rest would
    /// be cut by truncation anyway).
    func tokenIDs(_ text: String, limit: Int) -> [Int32] {
        let scalars = Array(normalized(text).unicodeScalars)
        let ranges = style == .clip ? BPEPreTokenizer.clip(scalars) : BPEPreTokenizer.gpt2(scalars)
        var out: [Int32] = []
        for range in ranges {
            if out.count >= limit { break }
            let piece = String(String.UnicodeScalarView(scalars[range]))
            if let known = cache[piece] {
                out += known
            } else {
                let pieceIDs = bpe(Array(piece.utf8))
                cache[piece] = pieceIDs
                out += pieceIDs
            }
        }
        return out
    }

    public func encode(_ text: String, contextLength: Int) -> (ids: [Int32], padding: [Float]) {
        precondition(contextLength >= 2, "a context needs room for the start and end tokens")
        return framed(tokenIDs(text, limit: contextLength - 2), contextLength: contextLength)
    }

    /// The tokens of ids (the vocabulary's strings, byte symbols and "</w>" included).
    public func tokens(_ tokenIDs: [Int32]) -> [String] {
        tokenIDs.compactMap { $0 >= 0 && Int($0) < vocabulary.count ? vocabulary[Int($0)] : nil }
    }

    /// The text of token ids: special ids dropped, byte symbols back to bytes (invalid UTF-8 becomes
    /// U+FFFD), and for CLIP "</w>" as a space with the trailing one removed.
    public func decode(_ tokenIDs: [Int32]) -> String {
        let drop: Set<Int32> = [specials.start, specials.end, specials.pad]
        var text = ""
        for id in tokenIDs where !drop.contains(id) && id >= 0 && Int(id) < vocabulary.count { text += vocabulary[Int(id)] }
        if style == .clip { text = text.replacingOccurrences(of: Self.endOfWord, with: " ") }
        var bytes: [UInt8] = []
        for scalar in text.unicodeScalars {
            if let b = Self.byteOfSymbol[scalar] { bytes.append(b) } else { bytes += Array(String(scalar).utf8) }
        }
        let decoded = String(decoding: bytes, as: UTF8.self)
        return style == .clip && decoded.hasSuffix(" ") ? String(decoded.dropLast()) : decoded
    }

    private static let byteOfSymbol: [Unicode.Scalar: UInt8] = {
        var table: [Unicode.Scalar: UInt8] = [:]
        for (b, s) in byteSymbols.enumerated() { table[s.unicodeScalars.first!] = UInt8(b) }
        return table
    }()

    /// The ids of one piece: its bytes' symbols (the last with "</w>" for CLIP), merged lowest rank first,
    /// leftmost first, as HF tokenizers' `Word::merge_all` does with its priority queue; O(n log n) in the
    /// piece's length, so a megabyte without a space costs milliseconds, not hours.
    func bpe(_ bytes: [UInt8]) -> [Int32] {
        let n = bytes.count
        guard n > 0 else { return [] }
        var symbols = bytes.map { byteIDs[Int($0)] }
        symbols[n - 1] = finalByteIDs[Int(bytes[n - 1])]
        if n == 1 { return symbols }
        // Doubly linked list over positions; a merged-away position is marked dead.
        var next = (0..<n).map { $0 + 1 }, previous = (0..<n).map { $0 - 1 }
        var alive = [Bool](repeating: true, count: n)
        var queue = MergeQueue()
        func pairKey(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }
        for i in 0..<(n - 1) {
            if let m = merges[pairKey(symbols[i], symbols[i + 1])] { queue.push(.init(rank: m.rank, position: Int32(i), result: m.result)) }
        }
        while let top = queue.pop() {
            let at = Int(top.position)
            guard alive[at], next[at] < n else { continue }
            let right = next[at]
            // A stale entry: the pair at this position changed since it was queued.
            guard let m = merges[pairKey(symbols[at], symbols[right])], m.result == top.result else { continue }
            symbols[at] = m.result
            alive[right] = false
            next[at] = next[right]
            if next[at] < n { previous[next[at]] = at }
            if previous[at] >= 0, let left = merges[pairKey(symbols[previous[at]], symbols[at])] {
                queue.push(.init(rank: left.rank, position: Int32(previous[at]), result: left.result))
            }
            if next[at] < n, let after = merges[pairKey(symbols[at], symbols[next[at]])] {
                queue.push(.init(rank: after.rank, position: Int32(at), result: after.result))
            }
        }
        var out: [Int32] = []
        var i = 0
        while i < n { out.append(symbols[i]); i = next[i] }
        return out
    }
}

/// A binary min-heap of candidate merges ordered by (rank, position).
private struct MergeQueue {
    struct Entry { var rank: Int32; var position: Int32; var result: Int32 }
    private var heap: [Entry] = []

    private static func before(_ a: Entry, _ b: Entry) -> Bool {
        a.rank != b.rank ? a.rank < b.rank : a.position < b.position
    }

    mutating func push(_ e: Entry) {
        heap.append(e)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.before(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var smallest = i
                if l < heap.count && Self.before(heap[l], heap[smallest]) { smallest = l }
                if r < heap.count && Self.before(heap[r], heap[smallest]) { smallest = r }
                if smallest == i { break }
                heap.swapAt(i, smallest)
                i = smallest
            }
        }
        return top
    }
}

/// The ids of pieces already merged, shared by copies of a tokenizer and by threads. Bounded: pieces longer
/// than `maxPieceBytes` are not kept, and once `capacity` pieces are kept no more are added (as HF's cache).
final class BPECache: @unchecked Sendable {
    static let capacity = 20_000
    static let maxPieceBytes = 64
    private let lock = NSLock()
    private var table: [String: [Int32]] = [:]

    subscript(piece: String) -> [Int32]? {
        get {
            lock.lock(); defer { lock.unlock() }
            return table[piece]
        }
        set {
            guard let newValue, piece.utf8.count <= Self.maxPieceBytes else { return }
            lock.lock(); defer { lock.unlock() }
            if table.count < Self.capacity { table[piece] = newValue }
        }
    }
}
