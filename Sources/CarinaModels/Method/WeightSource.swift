// Where a method's starting weights come from: named tensors of another run's checkpoint (a run
// directory or a checkpoint file), or of public weights converted by a name map (a Hugging Face BERT
// directory), selected by prefix and renamed, loaded before the first step of a fresh run. Fine-tuning
// starts from a contrastive run's image encoder this way; PsPG from a CLIP run; CLIP's report encoder from BERT.
// Not for: reading the files (CarinaTrain's WeightLoader) or resuming (the run's own checkpoints).
import CarinaData

public struct WeightSource: Sendable, Equatable {
    public struct Rename: Sendable, Equatable {
        public var from: String
        public var to: String

        public init(from: String, to: String) {
            self.from = from
            self.to = to
        }
    }

    /// How the stored tensors are read and named.
    public enum Format: Sendable, Equatable {
        /// A Carina run directory or checkpoint file: names as stored.
        case carina
        /// A Hugging Face BERT or RoBERTa model directory, its tensors named by `HFTextWeights`' map as a
        /// `TextEncoder` of `layers` blocks (with the pooler when `pooler`); `rename` then places them.
        case huggingFaceText(layers: Int, pooler: Bool)
        /// A Hugging Face CLIPModel directory, named by `HFCLIPWeights`' map as a Carina CLIP whose ViT and text
        /// tower have these block counts and whose images have `imageChannels` channels.
        case huggingFaceCLIP(visionLayers: Int, textLayers: Int, imageChannels: Int)
        /// An open_clip model directory (open_clip_config.json, open_clip_model.safetensors) as the CLIP `config`
        /// describes it (`TorchWeights.openCLIP`).
        case openCLIP(config: CLIPConfig)
        /// A torchvision ResNet state dict (a safetensors file) with these bottleneck blocks per stage, into
        /// `resnet.*` (`TorchWeights.torchvisionResNet`); its `fc` classifier is not used.
        case torchvisionResNet(blocks: [Int], imageChannels: Int)
    }

    /// A run directory or a checkpoint file (`CheckpointStore.resolve` rules); for `huggingFaceText`, the
    /// model directory.
    public var path: String
    public var format: Format
    /// Stored tensors whose names start with one of these (all when empty).
    public var include: [String]
    /// The first rename whose `from` prefixes a stored name replaces that prefix, giving the name in this
    /// model. Every selected tensor must exist in this model with the same shape.
    public var rename: [Rename]
    /// What these weights are, for the log ("the image encoder of").
    public var purpose: String
    /// Names (in this model) of ViT position tables (1 + g², W) that may come from another grid: they are
    /// resized bicubically (`ViT.resizePositionEmbedding`), so a model can start from weights trained at
    /// another image size.
    public var resizedPositions: Set<String>

    public init(path: String, format: Format = .carina, include: [String] = [], rename: [Rename] = [], purpose: String = "weights",
                resizedPositions: Set<String> = []) {
        self.path = path
        self.format = format
        self.include = include
        self.rename = rename
        self.purpose = purpose
        self.resizedPositions = resizedPositions
    }

    /// The name a stored tensor takes in this model, or nil when it is not selected.
    public func target(of stored: String) -> String? {
        guard include.isEmpty || include.contains(where: { stored.hasPrefix($0) }) else { return nil }
        for r in rename where stored.hasPrefix(r.from) { return r.to + stored.dropFirst(r.from.count) }
        return stored
    }
}

/// Another run a method builds on, as its checkpoint describes it.
public struct SourceRun {
    /// The checkpoint file the path resolved to.
    public let checkpoint: String
    /// Its `method:` and resolved `model:` section (decode it with the method's config type).
    public let method: String
    public let model: ConfigSection
    /// Its data's image size, channels and context length.
    public let imageSize: Int
    public let imageChannels: Int
    public let contextLength: Int
    /// Its vocabulary: the file its config names, or the one saved in its run directory (nil if neither
    /// is found), and where it was read.
    public let tokenizer: (any TextTokenizer)?
    public let vocabularyPath: String?

    public init(checkpoint: String, method: String, model: ConfigSection, imageSize: Int, imageChannels: Int, contextLength: Int,
                tokenizer: (any TextTokenizer)?, vocabularyPath: String?) {
        self.checkpoint = checkpoint
        self.method = method
        self.model = model
        self.imageSize = imageSize
        self.imageChannels = imageChannels
        self.contextLength = contextLength
        self.tokenizer = tokenizer
        self.vocabularyPath = vocabularyPath
    }
}
