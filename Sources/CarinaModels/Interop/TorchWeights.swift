// The name maps from PyTorch state dicts that are not Hugging Face's to Carina's modules: torchvision's
// ResNet (`conv1`, `bn1`, `layerS.J.*`, `fc`) into `resnet.*`, and open_clip's CLIP (`visual.*` as a ViT or a
// ModifiedResNet with its attention pool, the text transformer, `text_projection`, `logit_scale`) into a
// Carina CLIP. docs/interop.md has the tables. BatchNorm's running_mean / running_var become runningMean /
// runningVar; num_batches_tracked (an integer) is listed as not used, as is torchvision's classifier `fc`.
// Not for: the conversion rules (HFWeights) or reading configs (OpenCLIPModel).
import CarinaNN

public enum TorchWeights {
    /// BatchNorm `name` (a source prefix without the dot) into Carina's BatchNorm `carina`.
    static func batchNorm(_ carina: String, _ name: String) -> [HFWeights.Entry] {
        [("weight", "weight"), ("bias", "bias"), ("runningMean", "running_mean"), ("runningVar", "running_var")].map {
            HFWeights.Entry(carina + "." + $0.0, [name + "." + $0.1])
        }
    }

    /// The residual stages of a torchvision-named ResNet (`layer1` ... with `conv1..3`, `bn1..3`, `downsample.0/1`),
    /// as Carina's flat `resnet.layers.K` of bottleneck blocks; `source` prefixes the stored names.
    static func residualStages(_ blocks: [Int], source: String) -> [HFWeights.Entry] {
        var map: [HFWeights.Entry] = []
        var k = 0
        for (stage, count) in blocks.enumerated() {
            for j in 0..<count {
                let (c, t) = ("resnet.layers.\(k).", source + "layer\(stage + 1).\(j).")
                for i in 1...3 {
                    map.append(.init(c + "conv\(i).weight", [t + "conv\(i).weight"]))
                    map += batchNorm(c + "bn\(i)", t + "bn\(i)")
                }
                if j == 0 {  // bottleneck blocks: the first of every stage changes the width
                    map.append(.init(c + "downsample.weight", [t + "downsample.0.weight"]))
                    map += batchNorm(c + "downsampleBN", t + "downsample.1")
                }
                k += 1
            }
        }
        return map
    }

    /// torchvision's ResNet with bottleneck `blocks` ([3, 4, 6, 3] for ResNet-50) into `resnet.*`, its 3-channel
    /// stem summed for grey images when `imageChannels` is 1.
    public static func torchvisionResNet(blocks: [Int], imageChannels: Int) -> [HFWeights.Entry] {
        [.init("resnet.stem.weight", ["conv1.weight"], .convolution(channels: imageChannels))] + batchNorm("resnet.stemBN", "bn1")
            + residualStages(blocks, source: "")
    }

    /// open_clip's CLIP (the `CLIP` class: OpenAI's and open_clip's own models) into a Carina CLIP.
    public static func openCLIP(_ c: CLIPConfig) -> [HFWeights.Entry] {
        var map: [HFWeights.Entry] = []
        func blocks(_ carina: String, _ source: String, _ count: Int) {
            for i in 0..<count {
                let (b, s) = ("\(carina).encoder.blocks.\(i).", "\(source)transformer.resblocks.\(i).")
                map += [.init(b + "attn.qkv.weight", [s + "attn.in_proj_weight"]), .init(b + "attn.qkv.bias", [s + "attn.in_proj_bias"])]
                for part in ["weight", "bias"] {
                    for (mine, theirs) in [("norm1", "ln_1"), ("attn.proj", "attn.out_proj"), ("norm2", "ln_2"), ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj")] {
                        map.append(.init(b + mine + "." + part, [s + theirs + "." + part]))
                    }
                }
            }
        }
        switch c.imageEncoder {
        case .vit:
            map += [.init("visual.patchEmbed.weight", ["visual.conv1.weight"], .patchConvolution(channels: c.imageChannels)),
                    .init("visual.classToken", ["visual.class_embedding"]), .init("visual.positionEmbedding", ["visual.positional_embedding"]),
                    .init("visual.preNorm.weight", ["visual.ln_pre.weight"]), .init("visual.preNorm.bias", ["visual.ln_pre.bias"])]
            blocks("visual", "visual.", c.visionDepth)
            map += [.init("visual.encoder.norm.weight", ["visual.ln_post.weight"]), .init("visual.encoder.norm.bias", ["visual.ln_post.bias"]),
                    .init("imageProjection.weight", ["visual.proj"], .transposed)]
        case .resnet:
            map.append(.init("resnet.stem.weight", ["visual.conv1.weight"], .convolution(channels: c.imageChannels)))
            map += batchNorm("resnet.stemBN", "visual.bn1")
            map += [.init("resnet.stem2.weight", ["visual.conv2.weight"])] + batchNorm("resnet.stem2BN", "visual.bn2")
            map += [.init("resnet.stem3.weight", ["visual.conv3.weight"])] + batchNorm("resnet.stem3BN", "visual.bn3")
            map += residualStages(c.resnetBlocks, source: "visual.")
            map.append(.init("attentionPool.positionEmbedding", ["visual.attnpool.positional_embedding"]))
            for part in ["weight", "bias"] {
                for (mine, theirs) in [("query", "q_proj"), ("key", "k_proj"), ("value", "v_proj"), ("proj", "c_proj")] {
                    map.append(.init("attentionPool.attention.\(mine).\(part)", ["visual.attnpool.\(theirs).\(part)"]))
                }
            }
        }
        map += [.init("text.tokenEmbedding.weight", ["token_embedding.weight"]), .init("text.positionEmbedding", ["positional_embedding"])]
        blocks("text", "", c.textDepth)
        map += [.init("text.encoder.norm.weight", ["ln_final.weight"]), .init("text.encoder.norm.bias", ["ln_final.bias"]),
                .init("textProjection.weight", ["text_projection"], .transposed), .init("logitScale.value", ["logit_scale"], .scalar)]
        return map
    }

    /// The prefix a state dict's names carry: none, or `module.` (saved from DistributedDataParallel), found
    /// from where `probe` is.
    public static func prefix(of names: Set<String>, probe: String, file: String, what: String) throws -> String {
        guard let prefix = ["", "module.", "model."].first(where: { names.contains($0 + probe) }) else {
            throw InteropError(file: file, "no tensor \(probe) (nor with a prefix module. or model.): not \(what)")
        }
        return prefix
    }
}
