// Writing a Carina model as a Hugging Face model directory (`carina checkpoint export --format hf`): the
// inverse of the import name maps, so an export re-imports bit for bit. A CLIP whose ViT is OpenAI CLIP's
// (bias-free patches, ln_pre) and whose text tower is `clip` becomes a `CLIPModel`; a BERT or RoBERTa report
// encoder becomes a `BertModel` / `RobertaModel` (the image tower then has no HF equivalent here and is left
// to `--format safetensors`). Joined tensors are split back (qkv into q, k, v), the patch Linear becomes the
// patch convolution with the model's own channel count (a grey model exports `num_channels: 1`, which
// transformers builds as is), and config.json says every size, activation and epsilon.
// Not for: writing files (CarinaTrain's HFExporter) or reading them (HFCLIPModel, HFTextModel).
import CarinaNN
import Foundation

public enum HFExport {
    /// What a directory holds: its config.json object and its tensors in HF's names.
    public struct Model {
        public let kind: String
        public let config: [String: Any]
        public let tensors: [(name: String, tensor: Tensor)]
    }

    /// The special tokens config.json names (the run's tokenizer's ids).
    public struct Specials {
        public var start: Int
        public var end: Int
        public var pad: Int

        public init(start: Int, end: Int, pad: Int) {
            (self.start, self.end, self.pad) = (start, end, pad)
        }
    }

    /// `state` (a CLIP's tensors by Carina name) as the HF model its architecture has, or an error saying why
    /// there is none.
    public static func model(_ config: CLIPConfig, state: [String: Tensor], specials: Specials) throws -> Model {
        switch config.textArchitecture {
        case .clip:
            guard config.imageEncoder == .vit, !config.patchBias, config.preNorm else {
                throw InteropError(file: "model", "a CLIPModel needs OpenAI CLIP's ViT (imageEncoder: vit, patchBias: false, preNorm: true); "
                                   + "this model has \(config.imageEncoder.rawValue), patchBias \(config.patchBias), preNorm \(config.preNorm)")
            }
            return try clip(config, state: state, specials: specials)
        case .bert, .roberta:
            return try text(config, state: state)
        case .carina:
            throw InteropError(file: "model", "Carina's own report encoder (textArchitecture: carina: pre-norm, bidirectional, read at [CLS]) "
                               + "has no Hugging Face equivalent; export the weights with --format safetensors (docs/models.md has the layout)")
        }
    }

    static func clip(_ c: CLIPConfig, state: [String: Tensor], specials: Specials) throws -> Model {
        let entries = HFCLIPWeights.nameMap(visionLayers: c.visionDepth, textLayers: c.textDepth, imageChannels: c.imageChannels)
        let tensors = try invert(entries, state: state, prefix: "", carinaPrefix: "")
        let visionIntermediate = Int((Float(c.visionWidth) * c.mlpRatio).rounded())
        let textIntermediate = c.textIntermediate > 0 ? c.textIntermediate : Int((Float(c.textWidth) * c.mlpRatio).rounded())
        let positions = state["text.positionEmbedding"]?.shape[0] ?? c.contextLength
        let config: [String: Any] = [
            "architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": c.embedDim,
            "logit_scale_init_value": Double(state["logitScale.value"]?.scalars.first ?? 0),
            "text_config": ["model_type": "clip_text_model", "vocab_size": c.vocabSize, "hidden_size": c.textWidth,
                            "intermediate_size": textIntermediate, "num_hidden_layers": c.textDepth, "num_attention_heads": c.textHeads,
                            "max_position_embeddings": positions, "hidden_act": c.textActivation.rawValue,
                            "layer_norm_eps": Double(c.textNormEps > 0 ? c.textNormEps : 1e-5), "projection_dim": c.embedDim,
                            "bos_token_id": specials.start, "eos_token_id": specials.end, "pad_token_id": specials.pad,
                            "attention_dropout": 0.0, "dropout": 0.0] as [String: Any],
            "vision_config": ["model_type": "clip_vision_model", "hidden_size": c.visionWidth, "intermediate_size": visionIntermediate,
                              "num_hidden_layers": c.visionDepth, "num_attention_heads": c.visionHeads, "num_channels": c.imageChannels,
                              "image_size": c.imageSize, "patch_size": c.patchSize, "hidden_act": c.visionActivation.rawValue,
                              "layer_norm_eps": 1e-5, "projection_dim": c.embedDim, "attention_dropout": 0.0, "dropout": 0.0] as [String: Any],
        ]
        return Model(kind: "CLIPModel", config: config, tensors: tensors)
    }

    static func text(_ c: CLIPConfig, state: [String: Tensor]) throws -> Model {
        let entries = HFTextWeights.nameMap(layers: c.textDepth, pooler: c.textPooler).map { HFWeights.Entry($0.carina, $0.hf) }
        let tensors = try invert(entries, state: state, prefix: "", carinaPrefix: "text.")
        let roberta = c.textArchitecture == .roberta
        let positions = state["text.positionEmbedding"]?.shape[0] ?? c.contextLength
        var config: [String: Any] = [
            "architectures": [roberta ? "RobertaModel" : "BertModel"], "model_type": c.textArchitecture.rawValue,
            "vocab_size": c.vocabSize, "hidden_size": c.textWidth, "num_hidden_layers": c.textDepth, "num_attention_heads": c.textHeads,
            "intermediate_size": c.textIntermediate > 0 ? c.textIntermediate : Int((Float(c.textWidth) * c.mlpRatio).rounded()),
            "max_position_embeddings": positions, "type_vocab_size": c.textTokenTypes, "hidden_act": "gelu",
            "layer_norm_eps": Double(c.textNormEps > 0 ? c.textNormEps : 1e-12), "position_embedding_type": "absolute",
            "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
        ]
        config["pad_token_id"] = roberta ? c.textPaddingIndex : 0
        return Model(kind: roberta ? "RobertaModel" : "BertModel", config: config, tensors: tensors)
    }

    /// The map run backwards: each Carina tensor (under `carinaPrefix`) split or reshaped into its sources.
    static func invert(_ entries: [HFWeights.Entry], state: [String: Tensor], prefix: String, carinaPrefix: String) throws -> [(name: String, tensor: Tensor)] {
        var out: [(name: String, tensor: Tensor)] = []
        for entry in entries {
            guard let tensor = state[carinaPrefix + entry.carina] else {
                throw InteropError(file: "model", "no tensor '\(carinaPrefix + entry.carina)' to export as '\(entry.sources.joined(separator: "', '"))'")
            }
            switch entry.join {
            case .concatenate:
                let n = entry.sources.count
                guard tensor.rank >= 1, tensor.shape[0] % n == 0 else {
                    throw InteropError(file: "model", "'\(carinaPrefix + entry.carina)' of shape \(tensor.shape) does not split into \(n) parts")
                }
                let rows = tensor.shape[0] / n
                for (i, name) in entry.sources.enumerated() {
                    out.append((prefix + name, n == 1 ? tensor.copy() : try Autograd.withoutGrad { try tensor.slice(axis: 0, i * rows, (i + 1) * rows) }))
                }
            case let .patchConvolution(channels):
                let (w, inputs) = (tensor.shape[0], tensor.shape[1])
                let p = Int(Double(inputs / max(channels, 1)).squareRoot().rounded())
                guard tensor.rank == 2, channels * p * p == inputs else {
                    throw InteropError(file: "model", "'\(carinaPrefix + entry.carina)' of shape \(tensor.shape) is not a patch Linear over \(channels) channel(s)")
                }
                out.append((prefix + entry.sources[0], try tensor.reshaped([w, channels, p, p])))
            case .scalar:
                out.append((prefix + entry.sources[0], Tensor(tensor.scalars[0])))
            case .convolution:
                out.append((prefix + entry.sources[0], tensor.copy()))
            case .transposed:
                out.append((prefix + entry.sources[0], try Autograd.withoutGrad { try tensor.transposed(0, 1).copy() }))
            }
        }
        return out
    }
}
