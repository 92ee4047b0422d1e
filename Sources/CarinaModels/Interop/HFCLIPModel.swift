// A Hugging Face CLIPModel directory as `save_pretrained` writes it (OpenAI's CLIP checkpoints on the hub,
// openai/clip-vit-base-patch16 among them): config.json with its text_config and vision_config, model.safetensors,
// and CLIP's tokenizer files (vocab.json, merges.txt). Read as untrusted input (HFConfigJSON); what Carina cannot
// compute exactly (another activation, a vision LayerNorm epsilon other than 1e-5, an MLP width that is not a
// multiple of the ViT's mlpRatio) is refused naming the key.
// Not for: the weight names (HFCLIPWeights) or the tokenizer (CarinaData's TokenizerFiles).
import CarinaData
import CarinaNN
import Foundation

public struct HFCLIPModel: Sendable, Equatable {
    public struct Vision: Sendable, Equatable {
        public var width, layers, heads, intermediate, imageSize, patchSize, channels: Int
        public var activation: Activation
    }

    public struct Text: Sendable, Equatable {
        public var vocabSize, width, layers, heads, intermediate, maxPositions: Int
        public var layerNormEps: Float
        public var activation: Activation
    }

    public let directory: String
    public let configPath: String
    public let weightsPath: String
    public let vision: Vision
    public let text: Text
    /// projection_dim: the shared embedding's size.
    public let projectionDim: Int

    /// config.json's model_type, or nil when it has none (the caller says what it expected).
    public static func modelType(directory: String) throws -> String? {
        try HFConfigJSON.read(directory: directory).string("model_type")
    }

    public init(directory: String) throws {
        self.directory = directory
        let json = try HFConfigJSON.read(directory: directory)
        configPath = json.path
        let path = configPath
        guard try json.string("model_type") == "clip" else {
            throw InteropError(file: path, "model_type is \((try? json.string("model_type")).flatMap { $0?.debugDescription } ?? "missing"); expected \"clip\" (a CLIPModel)")
        }
        projectionDim = try json.integer("projection_dim", 1...16384, default: 512)
        let v = try json.section("vision_config"), t = try json.section("text_config")
        func heads(_ section: HFConfigJSON, _ width: Int) throws -> Int {
            let heads = try section.integer("num_attention_heads", 1...width)
            guard width % heads == 0 else {
                throw InteropError(file: path, "'\(section.prefix)hidden_size' \(width) does not split into num_attention_heads \(heads)")
            }
            return heads
        }
        let vWidth = try v.integer("hidden_size", 1...16384, default: 768)
        vision = Vision(width: vWidth, layers: try v.integer("num_hidden_layers", 0...256, default: 12), heads: try heads(v, vWidth),
                        intermediate: try v.integer("intermediate_size", 1...262_144, default: 3072),
                        imageSize: try v.integer("image_size", 8...4096, default: 224), patchSize: try v.integer("patch_size", 1...4096, default: 32),
                        channels: try v.integer("num_channels", 1...4, default: 3), activation: try v.activation(default: "quick_gelu"))
        guard vision.imageSize % vision.patchSize == 0 else {
            throw InteropError(file: path, "'vision_config.patch_size' \(vision.patchSize) does not tile image_size \(vision.imageSize)")
        }
        let ratio = Float(vision.intermediate) / Float(vision.width)
        guard Int((Float(vision.width) * ratio).rounded()) == vision.intermediate else {
            throw InteropError(file: path, "'vision_config.intermediate_size' \(vision.intermediate) is not width \(vision.width) x a ratio Carina's ViT can build")
        }
        let visionEps = try v.number("layer_norm_eps", inside: 0...1, default: 1e-5)
        guard abs(visionEps - 1e-5) <= 1e-12 else {
            throw InteropError(file: path, "'vision_config.layer_norm_eps' is \(visionEps); Carina's ViT computes LayerNorm with eps 1e-5 (CLIP's)")
        }
        let tWidth = try t.integer("hidden_size", 1...16384, default: 512)
        text = Text(vocabSize: try t.integer("vocab_size", 5...1_000_000, default: 49408), width: tWidth,
                    layers: try t.integer("num_hidden_layers", 0...256, default: 12), heads: try heads(t, tWidth),
                    intermediate: try t.integer("intermediate_size", 1...262_144, default: 2048),
                    maxPositions: try t.integer("max_position_embeddings", 2...65_536, default: 77),
                    layerNormEps: try t.number("layer_norm_eps", inside: 0...1, default: 1e-5), activation: try t.activation(default: "quick_gelu"))
        weightsPath = try HFTextModel.weightsFile(directory)
    }

    /// `config` set to this model: a ViT as OpenAI CLIP's (bias-free patches, ln_pre, its activation), the
    /// causal CLIP text tower, the projection size. The image size and channels stay the data's (positions
    /// are resized, an RGB stem summed for grey images, when the weights load).
    public func apply(to config: inout CLIPConfig) {
        config.imageEncoder = .vit
        (config.patchSize, config.visionWidth, config.visionDepth, config.visionHeads) = (vision.patchSize, vision.width, vision.layers, vision.heads)
        config.mlpRatio = Float(vision.intermediate) / Float(vision.width)
        (config.patchBias, config.preNorm, config.visionActivation) = (false, true, vision.activation)
        config.textArchitecture = .clip
        (config.vocabSize, config.textWidth, config.textDepth, config.textHeads) = (text.vocabSize, text.width, text.layers, text.heads)
        (config.textIntermediate, config.textPositions, config.textNormEps) = (text.intermediate, text.maxPositions, text.layerNormEps)
        config.textActivation = text.activation
        config.embedDim = projectionDim
    }
}
