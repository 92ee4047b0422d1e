// What a method needs its batches to carry beyond images and labels: token ids of the reports, the
// sentence each token belongs to (sentence-level report encoders such as PRIOR), and masked-language-model
// inputs (M3AE). The loader builds only what is asked for. Not for: image augmentation (ImageTransform,
// configured in the data section) or how a method uses the fields (its loss).

public struct BatchRequirements: Sendable, Equatable {
    /// Sentence-level tokenisation: FINDINGS and IMPRESSION split into sentences, each tokenised on its own
    /// and concatenated after [CLS], so every token's sentence is exact; whole sentences only (the first
    /// one truncated if it alone is too long), then [SEP].
    public struct Sentences: Sendable, Equatable {
        /// Shuffle the sentence order per (seed, epoch, sample) in training batches (PRIOR).
        public var shuffle: Bool

        public init(shuffle: Bool = true) { self.shuffle = shuffle }
    }

    /// BERT's masked-language-model input: `probability` of the real tokens chosen (whole words together
    /// when `wholeWord`), 80 % replaced by [MASK], 10 % by a random token, 10 % kept; keyed by
    /// (seed, epoch, sample).
    public struct MaskedTokens: Sendable, Equatable {
        public var probability: Float
        public var wholeWord: Bool

        public init(probability: Float = 0.15, wholeWord: Bool = false) {
            self.probability = probability
            self.wholeWord = wholeWord
        }
    }

    /// Token ids and padding of each report (`Batch.text`).
    public var tokens: Bool
    /// Per-token sentence ids and per-report sentence counts (implies tokens).
    public var sentences: Sentences?
    /// Masked ids and their labels (implies tokens), in training batches.
    public var maskedTokens: MaskedTokens?

    public init(tokens: Bool = false, sentences: Sentences? = nil, maskedTokens: MaskedTokens? = nil) {
        self.tokens = tokens || sentences != nil || maskedTokens != nil
        self.sentences = sentences
        self.maskedTokens = maskedTokens
    }

    /// Images and labels only.
    public static let images = BatchRequirements()
    /// Images, labels and the reports' token ids.
    public static let imagesAndTokens = BatchRequirements(tokens: true)
}
