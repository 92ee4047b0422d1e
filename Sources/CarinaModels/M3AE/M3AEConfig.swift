// The sizes and objectives of an M3AE model (multi-modal masked autoencoders, Chen et al., MICCAI 2022).
// Field names are the YAML keys of the `model` section of configs/m3ae-*.yaml; the defaults are the
// paper's pre-training setting (methods/M3AE.md §2–§4) at Carina's widths where the paper's need its
// pretrained towers (issue 15 imports them).
import CarinaNN

public struct M3AEConfig: Sendable, Codable, Equatable {
    /// A CLIP run directory or checkpoint file whose ViT and report encoder initialise `visual.*` and
    /// `text.*` (as the paper starts from CLIP's and RoBERTa's); their sizes and the CLIP's vocabulary are
    /// used, and the ViT's position table is resized bicubically when this run's image size gives another
    /// patch grid. "" = from scratch.
    public var initFrom = ""
    /// Public weights instead of a CLIP run (as the paper starts): `imageInitFrom` = `hf:DIR` (a CLIPModel
    /// directory, e.g. openai/clip-vit-base-patch16) or `openclip:DIR` (an open_clip ViT) for `visual.*` — its
    /// ViT sizes and options are used, `visionDepth` may keep fewer blocks (the official code's 11 of 12, M1);
    /// `textInitFrom` = `hf:DIR` (a BERT directory) for `text.*` with its sizes and WordPiece vocabulary.
    public var imageInitFrom = ""
    public var textInitFrom = ""
    public var imageSize = 128
    public var imageChannels = 1
    /// ViT image encoder (pre-LN, final LayerNorm on every token: CLIP's ln_post).
    public var patchSize = 16
    public var visionWidth = 192
    public var visionDepth = 6
    public var visionHeads = 3
    /// gelu, or quick_gelu for CLIP-initialised towers.
    public var visionActivation: Activation = .gelu
    /// OpenAI CLIP's visual tower: a bias-free patch projection and `ln_pre` (`visual.preNorm.*`).
    public var patchBias = true
    public var preNorm = false
    /// Report encoder: Carina's pre-LN transformer over WordPiece ids, or the post-LN BERT/RoBERTa options
    /// (`textArchitecture` and the keys after it, as in CLIP's config; with `initFrom` they come from the
    /// CLIP run).
    public var vocabSize = 8192
    public var contextLength = 64
    public var textWidth = 192
    public var textDepth = 4
    public var textHeads = 3
    public var textArchitecture: TextArchitecture = .carina
    public var textPositions = 0
    public var textIntermediate = 0
    public var textNormEps: Float = 0
    public var textTokenTypes = 2
    public var textPaddingIndex = 1
    /// A BERT pooler in the tower (from a CLIP run that has one, so its weights load); M3AE reads [CLS] itself.
    public var textPooler = false
    public var mlpRatio: Float = 4
    /// Co-attention fusion: `fusionLayers` pairs of post-LN layers (text, image) at `fusionWidth`.
    public var fusionWidth = 192
    public var fusionLayers = 6
    public var fusionHeads = 3
    /// Standard deviation of the initial weights of the fusion (projections, co-attention layers, poolers)
    /// and the heads: the official N(0, 0.02) suits width 768; 0 = 1/√fusionWidth, which keeps the
    /// co-attention's sub-layers comparable to their residual at small widths (at width 16 with 0.02 the
    /// cross-attention starts ~100× below its residual and image-text matching does not learn: measured).
    public var initStd: Float = 0.02
    /// Dropout on the fusion's hidden states and on its attention probabilities (0.1 in the paper).
    public var dropout: Float = 0.1
    public var attentionDropout: Float = 0.1
    /// Masked image modelling: share of patches removed, the fusion layer whose image-stream input feeds
    /// the decoder (3: after three of six layers; -1: the fusion's output), the decoder's size, and
    /// per-patch normalised pixel targets.
    public var maskRatio: Float = 0.75
    public var mimLayer = 3
    public var decoderWidth = 96
    public var decoderDepth = 4
    public var decoderHeads = 3
    public var normalizePixelTargets = true
    /// Masked language modelling: share of real tokens chosen (80 % [MASK], 10 % random, 10 % kept),
    /// whole words together when `wholeWordMasking`.
    public var mlmProbability: Float = 0.15
    public var wholeWordMasking = false
    /// Loss weights of the three objectives.
    public var mlmWeight: Float = 1
    public var mimWeight: Float = 1
    public var itmWeight: Float = 1
    /// Learning-rate factors of the fusion (projections, type embeddings, co-attention layers, poolers)
    /// and of the heads (MLM, MIM decoder, ITM), on the run's learning rate.
    public var fusionLearningRateScale: Float = 5
    public var headLearningRateScale: Float = 5
    /// The official code decays the vision tower's LayerNorm weights (pitfall M4); Carina does not unless set.
    public var decayVisionNorms = false

    public init() {}

    /// The report encoder's options.
    public var textOptions: TextEncoderOptions {
        textEncoderOptions(pooler: textPooler)
    }

    /// Checks every size before anything is allocated; `path` is the section's key path ("model").
    public func validate(source: String, path: String) throws {
        let ranges = ConfigRanges(source: source, path: path)
        func check(_ key: String, _ value: Int, _ range: ClosedRange<Int>) throws { try ranges.check(key, value, range) }
        func check(_ key: String, _ value: Float, _ range: ClosedRange<Float>, open: Bool = false) throws { try ranges.check(key, value, range, open: open) }
        try check("imageSize", imageSize, 8...4096)
        try check("imageChannels", imageChannels, 1...4)
        try check("patchSize", patchSize, 1...imageSize)
        try check("visionWidth", visionWidth, 1...16384)
        try check("visionDepth", visionDepth, 0...256)
        try check("visionHeads", visionHeads, 1...visionWidth)
        try check("vocabSize", vocabSize, 5...1_000_000)
        try check("contextLength", contextLength, 3...8192)  // [CLS], at least one token to mask, [SEP]
        try check("textWidth", textWidth, 1...16384)
        try check("textDepth", textDepth, 0...256)
        try check("textHeads", textHeads, 1...textWidth)
        try check("fusionWidth", fusionWidth, 1...16384)
        try check("fusionLayers", fusionLayers, 1...64)
        try check("fusionHeads", fusionHeads, 1...fusionWidth)
        try check("mimLayer", mimLayer, -1...fusionLayers)
        try check("decoderWidth", decoderWidth, 1...16384)
        try check("decoderDepth", decoderDepth, 0...64)
        try check("decoderHeads", decoderHeads, 1...decoderWidth)
        try check("mlpRatio", mlpRatio, 0.01...64)
        try validateTextKeys(source: source, path: path, pooler: textPooler)
        if textArchitecture == .clip {
            throw ConfigError("\(source): \(path).textArchitecture is clip (a causal tower); M3AE's masked-language report encoder is bidirectional")
        }
        try check("initStd", initStd, 0...1)
        try check("dropout", dropout, 0...1, open: true)
        try check("attentionDropout", attentionDropout, 0...1, open: true)
        try check("maskRatio", maskRatio, 0...1, open: true)
        try check("mlmProbability", mlmProbability, 0...1)
        for (key, value) in [("mlmWeight", mlmWeight), ("mimWeight", mimWeight), ("itmWeight", itmWeight),
                             ("fusionLearningRateScale", fusionLearningRateScale), ("headLearningRateScale", headLearningRateScale)] {
            try check(key, value, 0...1000)
        }
        guard imageSize % patchSize == 0 else {
            throw ConfigError("\(source): \(path).patchSize \(patchSize) does not tile \(imageSize)-px images (data.imageSize)")
        }
        let patches = (imageSize / patchSize) * (imageSize / patchSize)
        guard Int(Float(patches) * (1 - maskRatio)) >= 1 else {
            throw ConfigError("\(source): \(path).maskRatio \(maskRatio) leaves no visible patch of \(patches)")
        }
        for (key, width, heads) in [("visionWidth", visionWidth, visionHeads), ("textWidth", textWidth, textHeads),
                                    ("fusionWidth", fusionWidth, fusionHeads), ("decoderWidth", decoderWidth, decoderHeads)] where width % heads != 0 {
            throw ConfigError("\(source): \(path).\(key) \(width) does not split into \(heads) heads")
        }
        // The decoder's fixed 2-D sin-cos embedding splits its width into 4 equal parts.
        guard decoderWidth % 4 == 0 else {
            throw ConfigError("\(source): \(path).decoderWidth \(decoderWidth) must be a multiple of 4 (2-D sin-cos position embedding)")
        }
    }
}
