// The name map from Hugging Face CLIPModel weights to Carina's `CLIPModel` (docs/interop.md has the table):
// vision_model.* to `visual.*` (the patch convolution as the patch Linear, summed over RGB for grey images;
// pre_layrnorm to `visual.preNorm`; post_layernorm to the ViT's final norm), text_model.* to `text.*`
// (final_layer_norm to the tower's final norm), q/k/v projections joined into `qkv`, the two projections and
// logit_scale. Not for: the conversion rules (HFWeights) or copying into a model (WeightLoader).
import CarinaNN

public enum HFCLIPWeights {
    /// The source names each Carina tensor of a CLIP with `visionLayers` and `textLayers` blocks is made of;
    /// `imageChannels` is the Carina model's (the patch convolution is summed to 1 channel when it is 1).
    public static func nameMap(visionLayers: Int, textLayers: Int, imageChannels: Int) -> [HFWeights.Entry] {
        var map: [HFWeights.Entry] = [
            .init("visual.patchEmbed.weight", ["vision_model.embeddings.patch_embedding.weight"], .patchConvolution(channels: imageChannels)),
            .init("visual.classToken", ["vision_model.embeddings.class_embedding"]),
            .init("visual.positionEmbedding", ["vision_model.embeddings.position_embedding.weight"]),
            .init("visual.preNorm.weight", ["vision_model.pre_layrnorm.weight"]),
            .init("visual.preNorm.bias", ["vision_model.pre_layrnorm.bias"]),
        ]
        func blocks(_ carina: String, _ hf: String, _ count: Int) {
            for i in 0..<count {
                let (c, h) = ("\(carina).encoder.blocks.\(i).", "\(hf).encoder.layers.\(i).")
                for part in ["weight", "bias"] {
                    map.append(.init(c + "attn.qkv." + part, ["q_proj", "k_proj", "v_proj"].map { h + "self_attn.\($0)." + part }))
                    for (mine, theirs) in [("norm1", "layer_norm1"), ("attn.proj", "self_attn.out_proj"), ("norm2", "layer_norm2"),
                                           ("mlp.fc1", "mlp.fc1"), ("mlp.fc2", "mlp.fc2")] {
                        map.append(.init(c + mine + "." + part, [h + theirs + "." + part]))
                    }
                }
            }
        }
        blocks("visual", "vision_model", visionLayers)
        map += [.init("visual.encoder.norm.weight", ["vision_model.post_layernorm.weight"]),
                .init("visual.encoder.norm.bias", ["vision_model.post_layernorm.bias"]),
                .init("text.tokenEmbedding.weight", ["text_model.embeddings.token_embedding.weight"]),
                .init("text.positionEmbedding", ["text_model.embeddings.position_embedding.weight"])]
        blocks("text", "text_model", textLayers)
        map += [.init("text.encoder.norm.weight", ["text_model.final_layer_norm.weight"]),
                .init("text.encoder.norm.bias", ["text_model.final_layer_norm.bias"]),
                .init("imageProjection.weight", ["visual_projection.weight"]),
                .init("textProjection.weight", ["text_projection.weight"]),
                .init("logitScale.value", ["logit_scale"], .scalar)]
        return map
    }

    public static func convert(_ stored: [(name: String, tensor: Tensor)], skipped: [String] = [], file: String,
                               visionLayers: Int, textLayers: Int, imageChannels: Int) throws -> HFWeights.Conversion {
        let names = Set(stored.map(\.name))
        let prefix = ["", "model."].first { names.contains($0 + "visual_projection.weight") || names.contains($0 + "vision_model.embeddings.class_embedding") }
        guard let prefix else {
            throw InteropError(file: file, "no tensor visual_projection.weight or vision_model.embeddings.class_embedding: not a CLIPModel checkpoint")
        }
        return try HFWeights.convert(stored, skipped: skipped, file: file, prefix: prefix,
                                     entries: nameMap(visionLayers: visionLayers, textLayers: textLayers, imageChannels: imageChannels))
    }
}
