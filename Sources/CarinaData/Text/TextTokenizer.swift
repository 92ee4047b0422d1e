// What a text encoder needs from any tokenizer — the ids of a text, its special tokens, and a fixed-length
// encoding with a padding mask — so that BERT WordPiece (WordPieceTokenizer), CLIP's and RoBERTa's byte-level
// BPE (ByteLevelBPETokenizer) and whatever TokenizerFiles loads from a model directory look alike to callers.
// Not for: the tokenisation rules themselves (each tokenizer's own file) or finding files (TokenizerFiles).

/// The ids a model's text side treats specially. `start`/`end` are [CLS]/[SEP] for BERT, <s>/</s> for
/// RoBERTa, <|startoftext|>/<|endoftext|> for CLIP.
public struct SpecialTokenIDs: Sendable, Equatable {
    public var start: Int32
    public var end: Int32
    /// What `encode` pads with (BERT's [PAD], RoBERTa's <pad>; 0 for CLIP, as OpenAI CLIP and open_clip pad).
    public var pad: Int32
    /// BERT's [UNK], RoBERTa's <unk>; nil where every text has ids (CLIP: byte-level BPE never needs one).
    public var unknown: Int32?
    /// BERT's [MASK], RoBERTa's <mask> for masked-language modelling; nil for CLIP.
    public var mask: Int32?

    public init(start: Int32, end: Int32, pad: Int32, unknown: Int32? = nil, mask: Int32? = nil) {
        self.start = start
        self.end = end
        self.pad = pad
        self.unknown = unknown
        self.mask = mask
    }
}

/// A tokenizer a text encoder can use. Special-token strings inside a text ("[CLS]", "<|endoftext|>") are
/// tokenised as ordinary text, never turned into special ids: reports are data, not control input.
public protocol TextTokenizer: Sendable {
    /// The number of ids (every id is in 0..<vocabularySize).
    var vocabularySize: Int { get }
    var specials: SpecialTokenIDs { get }
    /// The ids of a text's tokens, without specials, truncation or padding.
    func tokenIDs(_ text: String) -> [Int32]
    /// `start` ids `end`, cut to `contextLength` (at least 2) keeping `end` last, padded with `pad`; the
    /// padding mask is 1 for tokens and 0 for padding.
    func encode(_ text: String, contextLength: Int) -> (ids: [Int32], padding: [Float])
    /// Whether the token `id` continues the word of the token before it (whole-word masking): a WordPiece
    /// `##` piece; a RoBERTa token without GPT-2's leading-space marker "Ġ". Specials never do.
    func continuesWord(_ id: Int32) -> Bool
}

extension TextTokenizer {
    /// `start` + the first `contextLength - 2` of `content` + `end`, padded; see `encode`.
    func framed(_ content: [Int32], contextLength: Int) -> (ids: [Int32], padding: [Float]) {
        precondition(contextLength >= 2, "a context needs room for the start and end tokens")
        var ids = [specials.start]
        ids.reserveCapacity(contextLength)
        ids += content.prefix(contextLength - 2)
        ids.append(specials.end)
        let used = ids.count
        ids += [Int32](repeating: specials.pad, count: contextLength - used)
        return (ids, (0..<contextLength).map { $0 < used ? 1 : 0 })
    }
}
