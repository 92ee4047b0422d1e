// A deterministic WordPiece vocabulary from a corpus: the special tokens, every character seen (alone and
// as a `##` continuation), then whole words by frequency, then frequent word-final pieces (`##s`, `##ing`)
// so unseen inflections split sensibly; ties broken alphabetically. Same corpus, same vocabulary, byte for
// byte. Not for: tokenizing (WordPieceTokenizer).
import Foundation

public enum VocabularyBuilder {
    public static func build(corpus: [String], size: Int, lowercase: Bool = true) -> [String] {
        var wordCounts: [String: Int] = [:]
        for text in corpus {
            for w in WordPieceTokenizer.basicTokens(text, lowercase: lowercase) { wordCounts[w, default: 0] += 1 }
        }
        var vocab = WordPieceTokenizer.specialTokens
        var seen = Set(vocab)
        func add(_ t: String) {
            if vocab.count < size || vocab.count < WordPieceTokenizer.specialTokens.count, seen.insert(t).inserted { vocab.append(t) }
        }
        let characters = Set(wordCounts.keys.flatMap { $0.map(String.init) }).sorted()
        for c in characters { add(c) }
        for c in characters { add("##" + c) }
        let byFrequency = wordCounts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        // Whole words take three quarters of the remaining room, suffix pieces the rest (then words again).
        let room = max(0, size - vocab.count)
        for (w, _) in byFrequency.prefix(room * 3 / 4) { add(w) }
        var suffixCounts: [String: Int] = [:]
        for (w, n) in wordCounts where w.count > 3 {
            let chars = Array(w)
            for k in 2...min(4, chars.count - 2) { suffixCounts["##" + String(chars[(chars.count - k)...]), default: 0] += n }
        }
        for (s, _) in suffixCounts.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) where vocab.count < size { add(s) }
        for (w, _) in byFrequency where vocab.count < size { add(w) }
        return vocab
    }

    /// Writes one token per line (BERT's vocab.txt), atomically.
    public static func write(_ vocabulary: [String], to path: String) throws {
        let text = vocabulary.joined(separator: "\n") + "\n"
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw DataError.badText(source: path, problem: "cannot write the vocabulary: \(error.localizedDescription)")
        }
    }
}
