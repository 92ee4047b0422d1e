// From a report to what a batch carries for it: the train-time text augmentation, then token ids and
// padding, and as asked the per-token sentence ids (sentences tokenised one by one) and the masked-language
// inputs. Every random choice is keyed by (seed, epoch, sample). Not for: tokenisation rules
// (WordPieceTokenizer) or section parsing (ReportSections).
import CarinaTensor

public struct TextPipeline: Sendable {
    /// Any tokenizer for whole reports; sentence ids need WordPiece, masked-language inputs a mask token.
    public let tokenizer: any TextTokenizer
    private let wordPiece: WordPieceTokenizer?
    public var contextLength: Int
    public var requirements: BatchRequirements
    /// Which sentences the encoder sees (training only; `.none` for evaluation).
    public var augmentation: ReportAugmentation
    /// Training batches shuffle sentences and mask tokens; evaluation batches keep the report as written.
    public var training: Bool

    public init(tokenizer: any TextTokenizer, contextLength: Int, requirements: BatchRequirements = .imagesAndTokens,
                augmentation: ReportAugmentation = .none, training: Bool = false) {
        precondition(contextLength >= 2, "a context needs room for [CLS] and [SEP]")
        wordPiece = tokenizer as? WordPieceTokenizer
        precondition(wordPiece != nil || requirements.sentences == nil, "sentence ids are made with a WordPiece tokenizer")
        precondition(requirements.maskedTokens == nil || TokenMasking.supports(tokenizer), "masked-language inputs need a tokenizer with a mask token")
        self.tokenizer = tokenizer
        self.contextLength = contextLength
        self.requirements = requirements
        self.augmentation = augmentation
        self.training = training
    }

    /// What a batch holds for one report.
    public struct Encoded: Sendable, Equatable {
        /// The text as augmented (what the encoder reads).
        public var report: String
        public var ids: [Int32]
        public var padding: [Float]
        /// Sentence of each token (0-based), -1 for [CLS], [SEP] and padding; empty unless asked for.
        public var sentenceIDs: [Int32] = []
        public var sentenceCount = 0
        /// MLM input ids and labels (the original id where masked, -100 elsewhere); empty unless asked for.
        public var maskedIDs: [Int32] = []
        public var maskLabels: [Int32] = []
    }

    public func encode(_ report: String, seed: UInt64, epoch: Int, sampleIndex: Int) -> Encoded {
        let text = training ? augmentation.apply(report, seed: seed, epoch: epoch, sampleIndex: sampleIndex) : report
        var out: Encoded
        if let sentences = requirements.sentences {
            var list = ReportSections.sentences(ReportSections.findingsAndImpression(text))
            if sentences.shuffle && training && list.count > 1 {
                var rng = RNG(seed: seed, "sentence-order", epoch, sampleIndex)
                list = rng.permutation(list.count).map { list[$0] }
            }
            let s = wordPiece!.encodeSentences(list, contextLength: contextLength)
            out = Encoded(report: text, ids: s.ids, padding: s.padding, sentenceIDs: s.sentenceIDs, sentenceCount: s.count)
        } else {
            let e = tokenizer.encode(text, contextLength: contextLength)
            out = Encoded(report: text, ids: e.ids, padding: e.padding)
        }
        if let masking = requirements.maskedTokens {
            if training {
                let m = TokenMasking.mask(ids: out.ids, tokenizer: tokenizer, probability: masking.probability, wholeWord: masking.wholeWord,
                                          seed: seed, epoch: epoch, sampleIndex: sampleIndex)
                (out.maskedIDs, out.maskLabels) = (m.ids, m.labels)
            } else {
                (out.maskedIDs, out.maskLabels) = (out.ids, [Int32](repeating: -100, count: out.ids.count))
            }
        }
        return out
    }
}
