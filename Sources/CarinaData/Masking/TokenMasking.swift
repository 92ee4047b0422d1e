// Masked language modelling input: 15 % of the real tokens chosen, of those 80 % replaced by [MASK], 10 % by
// a random non-special token and 10 % left as they are (BERT's rule), never [CLS], [SEP] or [PAD]; with
// whole-word masking a word's pieces (WordPiece's `##`, RoBERTa's tokens without a leading space) are chosen
// together. Labels hold the original id where chosen and -100 (cross-entropy's ignore index) elsewhere. Keyed by RNG(seed, "mask-text", epoch, sample).
// Deviation from M3AE's released code (methods/M3AE.md): positions are drawn over real tokens only, not
// over all padded positions, so short reports are masked at the stated rate too.
import CarinaTensor

public enum TokenMasking {
    /// Whether `tokenizer` can make masked-language inputs (it has a mask token: BERT's [MASK], RoBERTa's <mask>).
    public static func supports(_ tokenizer: any TextTokenizer) -> Bool { tokenizer.specials.mask != nil }

    public static func mask(ids: [Int32], tokenizer: any TextTokenizer, probability: Float = 0.15, wholeWord: Bool = false,
                            seed: UInt64, epoch: Int, sampleIndex: Int) -> (ids: [Int32], labels: [Int32]) {
        var rng = RNG(seed: seed, "mask-text", epoch, sampleIndex)
        let s = tokenizer.specials
        guard let maskID = s.mask else { return (ids, [Int32](repeating: -100, count: ids.count)) }
        let frame: Set<Int32> = [s.start, s.end, s.pad]
        let specials = frame.union([maskID]).union(s.unknown.map { [$0] } ?? [])
        // Units: single positions, or whole words (a token and the tokens that continue its word).
        var units: [[Int]] = []
        for (i, id) in ids.enumerated() where !frame.contains(id) {
            if wholeWord && tokenizer.continuesWord(id), let last = units.last, last.last == i - 1 {
                units[units.count - 1].append(i)
            } else {
                units.append([i])
            }
        }
        var out = ids, labels = [Int32](repeating: -100, count: ids.count)
        let candidates = (0..<tokenizer.vocabularySize).filter { !specials.contains(Int32($0)) }
        for unit in units where rng.uniform() < probability {
            let action = rng.uniform()
            for i in unit {
                labels[i] = ids[i]
                if action < 0.8 {
                    out[i] = maskID
                } else if action < 0.9, !candidates.isEmpty {
                    out[i] = Int32(candidates[rng.int(candidates.count)])
                }
            }
        }
        return (out, labels)
    }
}
