// Masked language modelling input: 15 % of the real tokens chosen, of those 80 % replaced by [MASK], 10 % by
// a random non-special token and 10 % left as they are (BERT's rule), never [CLS], [SEP] or [PAD]; with
// whole-word masking a word's `##` pieces are chosen together. Labels hold the original id where chosen
// and -100 (cross-entropy's ignore index) elsewhere. Keyed by RNG(seed, "mask-text", epoch, sample).
// Deviation from M3AE's released code (methods/M3AE.md): positions are drawn over real tokens only, not
// over all padded positions, so short reports are masked at the stated rate too.
import CarinaTensor

public enum TokenMasking {
    public static func mask(ids: [Int32], tokenizer: WordPieceTokenizer, probability: Float = 0.15, wholeWord: Bool = false,
                            seed: UInt64, epoch: Int, sampleIndex: Int) -> (ids: [Int32], labels: [Int32]) {
        var rng = RNG(seed: seed, "mask-text", epoch, sampleIndex)
        let specials = Set([tokenizer.clsID, tokenizer.sepID, tokenizer.padID, tokenizer.maskID, tokenizer.unkID])
        // Units: single positions, or whole words (a piece and its ## continuations).
        var units: [[Int]] = []
        for (i, id) in ids.enumerated() where id != tokenizer.clsID && id != tokenizer.sepID && id != tokenizer.padID {
            let piece = Int(id) < tokenizer.vocabulary.count ? tokenizer.vocabulary[Int(id)] : ""
            if wholeWord && piece.hasPrefix("##"), let last = units.last, last.last == i - 1 {
                units[units.count - 1].append(i)
            } else {
                units.append([i])
            }
        }
        var out = ids, labels = [Int32](repeating: -100, count: ids.count)
        let candidates = (0..<tokenizer.vocabulary.count).filter { !specials.contains(Int32($0)) }
        for unit in units where rng.uniform() < probability {
            let action = rng.uniform()
            for i in unit {
                labels[i] = ids[i]
                if action < 0.8 {
                    out[i] = tokenizer.maskID
                } else if action < 0.9, !candidates.isEmpty {
                    out[i] = Int32(candidates[rng.int(candidates.count)])
                }
            }
        }
        return (out, labels)
    }
}
