// The sizes, losses and stages of a PRIOR model (prototype representation joint learning, Cheng et al.,
// ICCV 2023). Field names are the YAML keys of the `model` section of configs/prior-*.yaml; the defaults
// are the official pre-training setting (methods/PRIOR.md §2–§4) at Carina's report-encoder widths where
// the paper's need the pretrained Bio_ClinicalBERT (issue 15 imports it).
import CarinaNN

public struct PRIORConfig: Sendable, Codable, Equatable {
    public var imageSize = 224
    public var imageChannels = 1
    /// ResNet image encoder (ResNet-50: bottleneck [3, 4, 6, 3], width 64); its last feature map gives the
    /// local tokens (positions in row-major order) and, through CLIP's attention pool, the global feature.
    public var resnetKind: ResidualBlockKind = .bottleneck
    public var resnetBlocks = [3, 4, 6, 3]
    public var resnetWidth = 64
    public var poolHeads = 8
    /// `torchvision:FILE`: the ResNet (`visual.*`) starts from a torchvision ResNet's state dict saved as
    /// safetensors (the paper's ImageNet ResNet-50; docs/interop.md). Bottleneck blocks only.
    public var imageInitFrom = ""
    /// Report encoder (Carina's pre-LN transformer over WordPiece ids).
    public var vocabSize = 8192
    public var contextLength = 256
    public var textWidth = 768
    public var textDepth = 12
    public var textHeads = 12
    public var mlpRatio: Float = 4
    /// `hf:DIR`: the report encoder starts from a Hugging Face BERT directory (the paper's Bio_ClinicalBERT):
    /// its sizes, BERT architecture (the `text*` keys below) and WordPiece vocabulary are used.
    public var textInitFrom = ""
    /// The report encoder's architecture as in CLIP's config: `carina` (pre-LN) or `bert` (HF's BertModel),
    /// with its position rows, MLP width, LayerNorm epsilon, token types and padding index (0 = the default).
    public var textArchitecture: TextArchitecture = .carina
    public var textPositions = 0
    public var textIntermediate = 0
    public var textNormEps: Float = 0
    public var textTokenTypes = 2
    public var textPaddingIndex = 1

    /// The report encoder's options as `TextEncoder` takes them.
    public var textOptions: TextEncoderOptions { textEncoderOptions() }
    /// The shared width of local tokens, sentences, prototypes and decoders (768).
    public var embedDim = 768
    public var sentencePoolHeads = 8
    /// Sentence prototype bank: codebook size and Gumbel-softmax temperature (fixed, as the official run).
    public var prototypes = 512
    public var gumbelTemperature: Float = 0.9
    /// Sentences a report contributes: 0 = all that fit the context; otherwise the first `maxSentences`
    /// of the (shuffled) order, and a report with more is truncated or, with `sentenceOverflow: skip`,
    /// left out of the step (counted). A report with no sentence is always left out (counted).
    public var maxSentences = 0
    public var sentenceOverflow = "truncate"
    /// Cross-modality conditional reconstruction: generated sentences (learned queries; stage 3 also
    /// truncates each report to its first `queries` sentences, as the official code), the sentence
    /// decoder (post-LN BERT layers with cross-attention to the local image tokens), and the image decoder
    /// (one block per doubling, nearest upsampling, conv-BN-ReLU twice, channel dropout on its input).
    public var queries = 16
    public var sentenceDecoderLayers = 8
    public var sentenceDecoderHeads = 12
    /// The official decoder is causal (HF's is_decoder, pitfall R3) although the paper calls it
    /// non-autoregressive; Carina's default follows the paper (every query sees every other).
    public var sentenceDecoderCausal = false
    public var decoderDropout: Float = 0.1
    public var imageDecoderChannels = [768, 384, 192, 96, 48]
    public var imageDecoderDropout: Float = 0.5
    /// Initial temperatures of the global and the local (intra-report) contrast; the scales exp(t) are
    /// learned and not clamped (as the official code).
    public var initialTemperature: Float = 0.01
    public var localTemperature: Float = 0.01
    /// Loss weights: global alignment (×10 in stage 3, `reconstructionGlobalWeight`), local image
    /// (SimSiam) and local text (intra-report contrast), prototype L1, and stage 3's image
    /// reconstruction, generated-sentence L1 (SPG), KL and generated-report alignment (GPA).
    public var globalWeight: Float = 1
    public var reconstructionGlobalWeight: Float = 10
    public var localImageWeight: Float = 1
    public var localTextWeight: Float = 1
    public var prototypeWeight: Float = 10
    public var imageReconstructionWeight: Float = 1
    public var sentenceGenerationWeight: Float = 10
    public var klWeight: Float = 1
    public var generatedAlignmentWeight: Float = 1
    /// Zero-shot scoring: softmax over classes of the global similarity + this × softmax of the local score.
    public var localScoreWeight: Float = 0.5
    /// The zero-shot prompt ("{}" stands for the class name, as written in the dataset).
    public var zeroShotPrompt = "{} is observed"

    public init() {}

    /// The ResNet's output grid side for this image size (stride 32 for four stages, ceil-rounded as the
    /// convolutions do).
    public var grid: Int {
        var s = imageSize
        for _ in 0..<(2 + Swift.max(resnetBlocks.count, 1) - 1) { s = (s + 1) / 2 }  // stem conv, max pool, strided stages
        return s
    }

    /// Channels of the ResNet's last feature map.
    public var imageChannelsOut: Int { resnetWidth << (Swift.max(resnetBlocks.count, 1) - 1) * (resnetKind == .bottleneck ? 4 : 1) }

    /// Checks every size before anything is allocated; `path` is the section's key path ("model").
    public func validate(source: String, path: String) throws {
        let ranges = ConfigRanges(source: source, path: path)
        func check(_ key: String, _ value: Int, _ range: ClosedRange<Int>) throws { try ranges.check(key, value, range) }
        func check(_ key: String, _ value: Float, _ range: ClosedRange<Float>, open: Bool = false) throws { try ranges.check(key, value, range, open: open) }
        try check("imageSize", imageSize, 8...4096)
        try check("imageChannels", imageChannels, 1...4)
        guard (1...4).contains(resnetBlocks.count), resnetBlocks.allSatisfy({ (1...64).contains($0) }) else {
            throw ConfigError("\(source): \(path).resnetBlocks is \(resnetBlocks); it must list 1 to 4 stages of 1...64 blocks")
        }
        try check("resnetWidth", resnetWidth, 1...1024)
        try check("poolHeads", poolHeads, 1...1024)
        if !imageInitFrom.isEmpty {
            guard imageInitFrom.hasPrefix(CLIPMethod.torchvisionPrefix), resnetKind == .bottleneck else {
                throw ConfigError("\(source): \(path).imageInitFrom is '\(imageInitFrom)'; it takes torchvision:FILE (a torchvision ResNet state dict "
                                  + "as safetensors) for a bottleneck ResNet")
            }
        }
        try check("vocabSize", vocabSize, 5...1_000_000)
        try check("contextLength", contextLength, 3...8192)
        try check("textWidth", textWidth, 1...16384)
        try check("textDepth", textDepth, 0...256)
        try check("textHeads", textHeads, 1...textWidth)
        try check("embedDim", embedDim, 2...16384)
        try check("sentencePoolHeads", sentencePoolHeads, 1...embedDim)
        try check("prototypes", prototypes, 1...1_000_000)
        try check("maxSentences", maxSentences, 0...8192)
        try check("queries", queries, 1...1024)
        try check("sentenceDecoderLayers", sentenceDecoderLayers, 1...64)
        try check("sentenceDecoderHeads", sentenceDecoderHeads, 1...embedDim)
        try check("mlpRatio", mlpRatio, 0.01...64)
        try validateTextKeys(source: source, path: path)
        guard textArchitecture == .carina || textArchitecture == .bert else {
            throw ConfigError("\(source): \(path).textArchitecture is \(textArchitecture.rawValue); PRIOR's sentence-level report encoder is carina or bert "
                              + "(it reads WordPiece sentence by sentence)")
        }
        try check("gumbelTemperature", gumbelTemperature, 1e-4...100)
        try check("decoderDropout", decoderDropout, 0...1, open: true)
        try check("imageDecoderDropout", imageDecoderDropout, 0...1, open: true)
        try check("initialTemperature", initialTemperature, 1e-4...100)
        try check("localTemperature", localTemperature, 1e-4...100)
        for (key, value) in [("globalWeight", globalWeight), ("reconstructionGlobalWeight", reconstructionGlobalWeight),
                             ("localImageWeight", localImageWeight), ("localTextWeight", localTextWeight), ("prototypeWeight", prototypeWeight),
                             ("imageReconstructionWeight", imageReconstructionWeight), ("sentenceGenerationWeight", sentenceGenerationWeight),
                             ("klWeight", klWeight), ("generatedAlignmentWeight", generatedAlignmentWeight), ("localScoreWeight", localScoreWeight)] {
            try check(key, value, 0...1000)
        }
        guard ["truncate", "skip"].contains(sentenceOverflow) else {
            throw ConfigError("\(source): \(path).sentenceOverflow is '\(sentenceOverflow)'; it must be truncate or skip")
        }
        guard zeroShotPrompt.contains("{}") else {
            throw ConfigError("\(source): \(path).zeroShotPrompt '\(zeroShotPrompt)' has no {} for the class name")
        }
        for (key, width, heads) in [("textWidth", textWidth, textHeads), ("embedDim", embedDim, sentencePoolHeads),
                                    ("embedDim", embedDim, sentenceDecoderHeads)] where width % heads != 0 {
            throw ConfigError("\(source): \(path).\(key) \(width) does not split into \(heads) heads")
        }
        let channels = imageChannelsOut
        guard channels % poolHeads == 0 else {
            throw ConfigError("\(source): \(path).poolHeads \(poolHeads) does not divide the ResNet's \(channels) output channels")
        }
        // The image decoder doubles the feature map once per block, back to the input size.
        var side = grid, blocks = 0
        while side < imageSize { side *= 2; blocks += 1 }
        guard side == imageSize, imageDecoderChannels.count == blocks, imageDecoderChannels.allSatisfy({ (1...16384).contains($0) }) else {
            throw ConfigError("\(source): \(path).imageDecoderChannels lists \(imageDecoderChannels.count) blocks; the \(grid)x\(grid) feature map of "
                              + "\(imageSize)-px images needs \(blocks) doublings" + (side == imageSize ? "" : " and does not double back to \(imageSize) px (use a power-of-two multiple of \(grid))"))
        }
    }
}
