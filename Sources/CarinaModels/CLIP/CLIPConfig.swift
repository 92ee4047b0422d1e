// The sizes of a CLIP/ConVIRT model: image encoder (ViT or ResNet), report encoder, shared embedding.
// Field names are the YAML keys of the `model` section of configs/clip-*.yaml.

import CarinaNN

public struct CLIPConfig: Sendable, Codable, Equatable {
    public enum ImageEncoderKind: String, Sendable, Codable { case vit, resnet }

    public var imageEncoder: ImageEncoderKind = .vit
    public var imageSize = 128
    public var imageChannels = 1
    /// ViT
    public var patchSize = 16
    public var visionWidth = 192
    public var visionDepth = 6
    public var visionHeads = 3
    /// OpenAI CLIP's visual tower: a bias-free patch projection (`patchBias: false`) and `ln_pre`
    /// (`preNorm: true`, `visual.preNorm.*`); the defaults are timm's ViT.
    public var patchBias = true
    public var preNorm = false
    /// The ViT's MLP nonlinearity: `gelu` (exact) or `quick_gelu` (OpenAI CLIP).
    public var visionActivation: Activation = .gelu
    /// ResNet (bottleneck blocks per stage, e.g. [3, 4, 6, 3] for ResNet-50) and the attention pool's heads.
    public var resnetBlocks = [3, 4, 6, 3]
    public var resnetWidth = 64
    /// `torchvision` (ResNet v1.5; the pool projects to `visionWidth`, then `imageProjection` to `embedDim`) or
    /// `clip` (OpenAI CLIP's modified ResNet, PsPG's RN50: three stem convolutions, average-pool strides, and an
    /// attention pool whose output projection gives the `embedDim` embedding itself, with no `imageProjection`).
    public var resnetStyle: ResNetStyle = .torchvision
    public var mlpRatio: Float = 4
    /// Report encoder: a bidirectional transformer over WordPiece ids, pooled at [CLS] (position 0).
    public var vocabSize = 8192
    public var contextLength = 64
    public var textWidth = 192
    public var textDepth = 4
    public var textHeads = 3
    /// Report encoder architecture: `carina` (pre-norm blocks, final LayerNorm), `bert` or `roberta` (as HF
    /// transformers computes them: post-norm blocks, token-type embeddings, embedding LayerNorm, exact GELU;
    /// RoBERTa counts positions after the padding index). `initFrom: hf:DIR` sets it and the keys below from
    /// the directory's config.json.
    public var textArchitecture: TextArchitecture = .carina
    /// Rows of the report encoder's position table; 0 = contextLength (BERT's max_position_embeddings).
    public var textPositions = 0
    /// Hidden width of the report encoder's MLPs; 0 = textWidth x mlpRatio (BERT's intermediate_size).
    public var textIntermediate = 0
    /// LayerNorm epsilon of the report encoder; 0 = the architecture's (1e-5 carina, 1e-12 bert/roberta).
    public var textNormEps: Float = 0
    /// bert/roberta: rows of the token-type table (type_vocab_size; every report is segment 0).
    public var textTokenTypes = 2
    /// roberta: the padding index (pad_token_id) after which positions are counted.
    public var textPaddingIndex = 1
    /// bert/roberta: the report feature is BERT's pooler output, tanh(dense([CLS])), instead of [CLS].
    public var textPooler = false
    /// carina/clip: the report encoder's MLP nonlinearity (`gelu`, or OpenAI CLIP's `quick_gelu`).
    public var textActivation: Activation = .gelu
    /// `hf:DIR`: the report encoder starts from a Hugging Face BERT model directory (config.json,
    /// model.safetensors, vocab.txt), or the whole model from a CLIPModel directory; `openclip:DIR`: the whole
    /// model from an open_clip directory. Their sizes and tokenizer are used (docs/interop.md).
    public var initFrom = ""
    /// `torchvision:FILE`: the (torchvision-style) ResNet image encoder starts from a torchvision ResNet's
    /// state dict saved as safetensors (ImageNet weights, as ConVIRT and PRIOR start).
    public var imageInitFrom = ""
    /// The report encoder's (`text.*`) learning rate as a factor of the run's: a pretrained encoder is
    /// fine-tuned gently while the image encoder and projections train from scratch (0 freezes it in effect:
    /// no update, though its gradients are still computed and reduced).
    public var textLearningRateScale: Float = 1
    /// Shared embedding size.
    public var embedDim = 128
    public var initialTemperature: Float = 0.07

    public init() {}

    /// CLIP's modified ResNet: its attention pool ends in the shared space (no image projection).
    public var poolIsEmbedding: Bool { imageEncoder == .resnet && resnetStyle == .clip }

    /// The width of the pooled image feature (a linear probe's input): the ViT's or the pool's, `embedDim` for
    /// CLIP's modified ResNet.
    public var imageFeatureWidth: Int { poolIsEmbedding ? embedDim : visionWidth }

    /// The report encoder's options as `TextEncoder` takes them.
    public var textOptions: TextEncoderOptions { textEncoderOptions(pooler: textPooler, activation: textActivation) }

    /// Checks every size before anything is allocated: positive, within generous limits (far above any
    /// published model, far below what would exhaust memory), and consistent (patches tile the image,
    /// widths split into heads). `path` is the key path of this section ("model", "model.encoder").
    public func validate(source: String, path: String) throws {
        let ranges = ConfigRanges(source: source, path: path)
        func check(_ key: String, _ value: Int, _ range: ClosedRange<Int>) throws { try ranges.check(key, value, range) }
        try check("imageSize", imageSize, 8...4096)
        try check("imageChannels", imageChannels, 1...4)
        try check("visionWidth", visionWidth, 1...16384)
        try check("visionHeads", visionHeads, 1...visionWidth)
        try check("textWidth", textWidth, 1...16384)
        try check("textHeads", textHeads, 1...textWidth)
        try check("textDepth", textDepth, 0...256)
        try check("vocabSize", vocabSize, 5...1_000_000)
        try check("contextLength", contextLength, 2...8192)
        try check("embedDim", embedDim, 1...16384)
        try ranges.check("textLearningRateScale", textLearningRateScale, 0...1000)
        try validateTextKeys(source: source, path: path, pooler: textPooler)
        if textActivation != .gelu, textArchitecture == .bert || textArchitecture == .roberta {
            throw ConfigError("\(source): \(path).textActivation is \(textActivation.rawValue); BERT and RoBERTa use exact gelu")
        }
        guard mlpRatio > 0, mlpRatio <= 64 else { throw ConfigError("\(source): \(path).mlpRatio is \(mlpRatio); it must be in (0, 64]") }
        guard initialTemperature > 0, initialTemperature.isFinite else {
            throw ConfigError("\(source): \(path).initialTemperature is \(initialTemperature); it must be positive")
        }
        for (key, width, heads) in [("visionWidth", visionWidth, visionHeads), ("textWidth", textWidth, textHeads)] where width % heads != 0 {
            throw ConfigError("\(source): \(path).\(key) \(width) does not split into \(heads) heads")
        }
        switch imageEncoder {
        case .vit:
            try check("patchSize", patchSize, 1...imageSize)
            try check("visionDepth", visionDepth, 0...256)
            guard imageSize % patchSize == 0 else {
                throw ConfigError("\(source): \(path).patchSize \(patchSize) does not tile \(imageSize)-px images (data.imageSize)")
            }
        case .resnet:
            try check("resnetWidth", resnetWidth, 1...4096)
            guard (1...8).contains(resnetBlocks.count), resnetBlocks.allSatisfy({ (0...64).contains($0) }) else {
                throw ConfigError("\(source): \(path).resnetBlocks \(resnetBlocks) must list 1 to 8 stages of 0 to 64 blocks")
            }
            if resnetStyle == .clip, resnetWidth < 2 {
                throw ConfigError("\(source): \(path).resnetWidth is \(resnetWidth); CLIP's ResNet stem needs at least 2 (it starts at half the width)")
            }
            let channels = resnetWidth << (resnetBlocks.count - 1) * 4
            if channels % visionHeads != 0 {
                throw ConfigError("\(source): \(path).visionHeads \(visionHeads) does not split the ResNet's \(channels) output channels (the attention pool's width)")
            }
        }
    }

    /// A very small model for tests (8 px images, 2 patches per side, 1 layer per encoder).
    public static var test: CLIPConfig {
        var c = CLIPConfig()
        c.imageSize = 8
        c.patchSize = 4
        c.visionWidth = 16
        c.visionDepth = 1
        c.visionHeads = 2
        c.vocabSize = 20
        c.contextLength = 6
        c.textWidth = 16
        c.textDepth = 1
        c.textHeads = 2
        c.embedDim = 8
        return c
    }
}

extension TextEncoderOptions {
    /// Checks the report-encoder keys a config section shares (CLIP's and M3AE's `text*` keys), naming them.
    public static func validateKeys(source: String, path: String, contextLength: Int, vocabSize: Int, architecture: TextArchitecture,
                                    positions: Int, intermediate: Int, eps: Float, tokenTypes: Int, paddingIndex: Int, pooler: Bool) throws {
        let ranges = ConfigRanges(source: source, path: path)
        func check(_ key: String, _ value: Int, _ range: ClosedRange<Int>) throws { try ranges.check(key, value, range) }
        try check("textIntermediate", intermediate, 0...262_144)
        try check("textPositions", positions, 0...65_536)
        let needed = contextLength + (architecture == .roberta ? paddingIndex + 1 : 0)
        if (positions > 0 ? positions : contextLength) < needed {
            throw ConfigError("\(source): \(path).textPositions is \(positions); contextLength \(contextLength) needs at least \(needed)"
                              + (architecture == .roberta ? " (RoBERTa's positions start after textPaddingIndex \(paddingIndex))" : ""))
        }
        guard eps >= 0, eps < 1 else {
            throw ConfigError("\(source): \(path).textNormEps is \(eps); it must be in [0, 1) (0: the architecture's own)")
        }
        if architecture == .carina || architecture == .clip {
            for (key, set) in [("textPooler", pooler), ("textTokenTypes", tokenTypes != 2), ("textPaddingIndex", paddingIndex != 1)] where set {
                throw ConfigError("\(source): \(path).\(key) is for textArchitecture bert or roberta, not \(architecture.rawValue)")
            }
        } else {
            try check("textTokenTypes", tokenTypes, 1...1024)
            try check("textPaddingIndex", paddingIndex, 0...(vocabSize - 1))
        }
    }
}
