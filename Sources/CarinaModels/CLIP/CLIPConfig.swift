// The sizes of a CLIP/ConVIRT model: image encoder (ViT or ResNet), report encoder, shared embedding.
// Field names are the YAML keys of the `model` section of configs/clip-*.yaml.

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
    /// ResNet (bottleneck blocks per stage, e.g. [3, 4, 6, 3] for ResNet-50) and the attention pool's heads.
    public var resnetBlocks = [3, 4, 6, 3]
    public var resnetWidth = 64
    public var mlpRatio: Float = 4
    /// Report encoder: a bidirectional transformer over WordPiece ids, pooled at [CLS] (position 0).
    public var vocabSize = 8192
    public var contextLength = 64
    public var textWidth = 192
    public var textDepth = 4
    public var textHeads = 3
    /// Shared embedding size.
    public var embedDim = 128
    public var initialTemperature: Float = 0.07

    public init() {}

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
