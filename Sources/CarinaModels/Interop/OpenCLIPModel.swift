// An open_clip model directory as the Hugging Face hub holds open_clip's models (timm/..., laion/...):
// open_clip_config.json (its `model_cfg`: embed_dim, quick_gelu, vision_cfg, text_cfg; or a bare model config as
// open_clip's model_configs/*.json) and open_clip_model.safetensors, plus CLIP's tokenizer files, which a user
// copies in (open_clip ships bpe_simple_vocab_16e6.txt.gz inside its package). Read as untrusted input
// (HFConfigJSON). The `CLIP` class with a ViT or a ModifiedResNet and the standard causal text tower is
// imported; what Carina cannot compute exactly (timm or HF towers, layer scale, attentional pooling, no
// ln_pre, a non-causal or differently pooled text tower, projection biases, SigLIP's logit bias, CoCa) is
// refused naming the key. Not for: the names (TorchWeights) or the tokenizer (TokenizerFiles).
import CarinaData
import CarinaNN
import Foundation

public struct OpenCLIPModel: Sendable, Equatable {
    public let directory: String
    public let configPath: String
    public let weightsPath: String
    public let embedDim: Int
    public let activation: Activation
    /// ViT: depth; ModifiedResNet: blocks per stage.
    public let visionLayers: [Int]
    public let isResNet: Bool
    public let visionWidth, visionHeads, imageSize, patchSize: Int
    public let visionMLPRatio: Float
    public let contextLength, vocabSize, textWidth, textHeads, textLayers, textIntermediate: Int

    public static let configFile = "open_clip_config.json"
    public static let weightsFile = "open_clip_model.safetensors"

    public init(directory: String) throws {
        self.directory = directory
        let root = try HFConfigJSON.read(directory: directory, file: Self.configFile,
                                         names: "openclip: names a directory with \(Self.configFile) and \(Self.weightsFile)")
        configPath = root.path
        let model = root.object["model_cfg"] != nil ? try root.section("model_cfg") : root
        let path = configPath
        for key in ["custom_text", "init_logit_bias", "multimodal_cfg"] where model.object[key].map({ !($0 is NSNull) && ($0 as? Bool) != false }) ?? false {
            throw InteropError(file: path, "'\(model.prefix)\(key)' is set; Carina imports open_clip's CLIP class (a ViT or ModifiedResNet and "
                               + "the causal text transformer), not CustomTextCLIP, SigLIP or CoCa")
        }
        embedDim = try model.integer("embed_dim", 1...16384)
        activation = (model.object["quick_gelu"] as? Bool) == true ? .quickGELU : .gelu
        let v = try model.section("vision_cfg"), t = try model.section("text_cfg")
        /// Keys that change the computation: each must be absent or at open_clip's default.
        func refuse(_ section: HFConfigJSON, _ defaults: [String: Any]) throws {
            for (key, value) in defaults.sorted(by: { $0.key < $1.key }) {
                guard let raw = section.object[key], !(raw is NSNull) else { continue }
                let same: Bool
                switch value {
                case let flag as Bool: same = (raw as? Bool) == flag
                case let text as String: same = (raw as? String) == text
                default: same = false
                }
                guard same else {
                    throw InteropError(file: path, "'\(section.prefix)\(key)' is \(String(describing: raw).prefix(40)); Carina computes open_clip's default "
                                       + "(\(value is NSNull ? "unset" : "\(value)")) only")
                }
            }
        }
        try refuse(v, ["attentional_pool": false, "no_ln_pre": false, "pos_embed_type": "learnable", "final_ln_after_pool": false, "pool_type": "tok",
                       "timm_model_name": NSNull(), "ls_init_value": NSNull(), "act_kwargs": NSNull(), "norm_kwargs": NSNull(), "qk_norm": false,
                       "scaled_cosine_attn": false, "scale_heads": false, "scale_attn_inner": false, "scale_attn": false, "scale_fc": false])
        try refuse(t, ["hf_model_name": NSNull(), "embed_cls": false, "no_causal_mask": false, "final_ln_after_pool": false, "pool_type": "argmax",
                       "proj_bias": false, "proj_type": "linear", "ls_init_value": NSNull(), "act_kwargs": NSNull(), "norm_kwargs": NSNull(),
                       "qk_norm": false, "scaled_cosine_attn": false, "scale_heads": false, "scale_attn_inner": false, "scale_attn": false, "scale_fc": false])
        func ratio(_ section: HFConfigJSON) throws -> Float { try section.number("mlp_ratio", inside: 0...64, default: 4.0) }
        if let list = v.object["layers"] as? [Any] {
            let blocks = try list.enumerated().map { i, raw -> Int in
                guard let n = raw as? NSNumber, let d = Double(exactly: n.doubleValue), d == d.rounded(), (0...64).contains(Int(d)) else {
                    throw InteropError(file: path, "'vision_cfg.layers' entry \(i) is \(raw); it must be a whole number in 0...64")
                }
                return Int(d)
            }
            guard blocks.count == 4 else { throw InteropError(file: path, "'vision_cfg.layers' lists \(blocks.count) stages; a ModifiedResNet has 4") }
            (visionLayers, isResNet) = (blocks, true)
        } else {
            (visionLayers, isResNet) = ([try v.integer("layers", 0...256, default: 12)], false)
        }
        let width = try v.integer("width", 1...16384, default: 768)
        let headWidth = try v.integer("head_width", 1...16384, default: 64)
        imageSize = try v.integer("image_size", 8...4096, default: 224)
        patchSize = isResNet ? 32 : try v.integer("patch_size", 1...4096, default: 16)
        visionMLPRatio = try ratio(v)
        if isResNet {
            // ModifiedResNet: `width` is the stem's; the attention pool works on width x 32 channels with width x 32 / head_width heads.
            visionWidth = width * 32
            visionHeads = width * 32 / headWidth
        } else {
            visionWidth = width
            visionHeads = width / headWidth
        }
        guard visionHeads >= 1, visionWidth % visionHeads == 0 else {
            throw InteropError(file: path, "'vision_cfg.head_width' \(headWidth) does not split the vision width \(visionWidth) into heads")
        }
        contextLength = try t.integer("context_length", 2...65_536, default: 77)
        vocabSize = try t.integer("vocab_size", 5...1_000_000, default: 49408)
        textWidth = try t.integer("width", 1...16384, default: 512)
        textHeads = try t.integer("heads", 1...textWidth, default: 8)
        guard textWidth % textHeads == 0 else { throw InteropError(file: path, "'text_cfg.width' \(textWidth) does not split into heads \(textHeads)") }
        textLayers = try t.integer("layers", 0...256, default: 12)
        textIntermediate = Int((Float(textWidth) * (try ratio(t))).rounded())
        let weights = directory + "/" + Self.weightsFile
        guard FileManager.default.fileExists(atPath: weights) else {
            let pickle = FileManager.default.fileExists(atPath: directory + "/open_clip_pytorch_model.bin")
            throw InteropError(file: directory, "no \(Self.weightsFile)" + (pickle ? " (only open_clip_pytorch_model.bin, a pickle Carina does not read: "
                               + "save the state dict with safetensors.torch.save_file(model.state_dict(), ...))" : ""))
        }
        weightsPath = weights
    }

    /// `config` set to this model (the image size and channels stay the data's: positions are resized, an RGB
    /// stem summed for grey images, when the weights load).
    public func apply(to config: inout CLIPConfig) {
        if isResNet {
            config.imageEncoder = .resnet
            (config.resnetBlocks, config.resnetWidth, config.resnetStyle) = (visionLayers, visionWidth / 32, .clip)
            (config.visionWidth, config.visionHeads) = (visionWidth, visionHeads)
        } else {
            config.imageEncoder = .vit
            (config.patchSize, config.visionWidth, config.visionDepth, config.visionHeads) = (patchSize, visionWidth, visionLayers[0], visionHeads)
            (config.mlpRatio, config.patchBias, config.preNorm) = (visionMLPRatio, false, true)
        }
        (config.visionActivation, config.textActivation, config.textArchitecture) = (activation, activation, .clip)
        (config.vocabSize, config.textWidth, config.textDepth, config.textHeads) = (vocabSize, textWidth, textLayers, textHeads)
        (config.textIntermediate, config.textPositions, config.textNormEps) = (textIntermediate, contextLength, 1e-5)
        config.embedDim = embedDim
    }
}
