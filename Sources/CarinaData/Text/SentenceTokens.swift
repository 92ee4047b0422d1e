// Sentence-level tokenisation for sentence-level report encoders (PRIOR): each sentence tokenised on its
// own and the pieces concatenated after [CLS], so the sentence of every token is known exactly (PRIOR's
// code tokenises the joined text and maps by per-sentence counts, which breaks when joining changes the
// pieces — pitfall R7). Not for: splitting reports into sentences (ReportSections).

import CarinaTensor

extension WordPieceTokenizer {
    /// [CLS] s₀ s₁ … [SEP] [PAD]…: whole sentences while they fit (the first is cut to fit if it alone is
    /// too long; an empty sentence is dropped), [SEP] always last. `sentenceIDs` holds each token's
    /// sentence (0-based, in the order given) and -1 for [CLS], [SEP] and padding; `count` the sentences kept.
    public func encodeSentences(_ sentences: [String], contextLength: Int) -> (ids: [Int32], padding: [Float], sentenceIDs: [Int32], count: Int) {
        precondition(contextLength >= 2, "a context needs room for [CLS] and [SEP]")
        let room = contextLength - 2
        var ids = [clsID], sentenceIDs: [Int32] = [-1], count = 0
        for sentence in sentences {
            var pieces = tokenize(sentence).map { id(of: $0) ?? unkID }
            guard !pieces.isEmpty else { continue }
            if ids.count - 1 + pieces.count > room {
                guard count == 0 else { break }
                pieces = Array(pieces.prefix(room))
            }
            ids += pieces
            sentenceIDs += [Int32](repeating: Int32(count), count: pieces.count)
            count += 1
        }
        ids.append(sepID)
        sentenceIDs.append(-1)
        let used = ids.count
        ids += [Int32](repeating: padID, count: contextLength - used)
        sentenceIDs += [Int32](repeating: -1, count: contextLength - used)
        return (ids, (0..<contextLength).map { $0 < used ? 1 : 0 }, sentenceIDs, count)
    }

    /// Each text as a report of exactly one sentence (zero-shot prompts for a sentence-level encoder), as a
    /// text batch with its sentence ids and counts.
    public func sentenceBatch(_ texts: [String], contextLength: Int) -> TextBatch {
        let encoded = texts.map { encodeSentences([$0], contextLength: contextLength) }
        let shape = [texts.count, contextLength]
        return TextBatch(ids: IndexTensor(shape: shape, values: encoded.flatMap(\.ids)), padding: Tensor(shape: shape, values: encoded.flatMap(\.padding)),
                         sentenceIDs: IndexTensor(shape: shape, values: encoded.flatMap(\.sentenceIDs)), sentenceCounts: encoded.map(\.count))
    }
}
