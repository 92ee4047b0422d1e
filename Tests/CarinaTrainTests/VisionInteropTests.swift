// torchvision's ResNet and open_clip's CLIP (ModifiedResNet, PsPG's RN50 architecture, and ViT) against the
// libraries themselves: tiny random models written by scripts/interop-fixtures.py (torchvision's own blocks and
// forward at base width 8; open_clip.model.CLIP with QuickGELU), imported through the name maps and compared on
// the script's grey images (fed to the libraries' RGB stems as three equal channels) and reports, within 1e-4 of
// the largest reference value. Runs start from them (`initFrom: openclip:DIR`, `imageInitFrom: torchvision:FILE`);
// configs Carina cannot compute exactly and damaged files are errors naming the key or tensor.
// Not for: Hugging Face's CLIPModel (CLIPInteropTests).
import CarinaCheckpoint
import CarinaData
@testable import CarinaModels
import CarinaNN
import CarinaTestSupport
@testable import CarinaTrain
import Foundation
import Testing

private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/interop").path

private func reference() throws -> [String: Tensor] {
    Dictionary(uniqueKeysWithValues: try SafeTensors.read(fixtures + "/vision-outputs.safetensors").map { ($0.name, $0.tensor) })
}

/// A CLIP method as a run's config builds it (`model` is the YAML mapping's body), its weight sources loaded.
private func built(_ model: String, imageSize: Int, contextLength: Int = 20) throws -> (CLIPMethod, [String]) {
    let yaml = "method: clip\nmodel: {\(model)}\ndata: {syntheticCount: 8, imageSize: \(imageSize), contextLength: \(contextLength)}\n"
    let method = try RunConfigFile(yaml: yaml, source: "test").buildMethod(classNames: [], vocabularySize: 100).method as! CLIPMethod
    let log = try WeightLoader.load(method.weightSources, into: method.clip)
    method.clip.eval()
    return (method, log)
}

private let torchvisionResNet = "imageEncoder: resnet, resnetBlocks: [1, 1, 1, 1], resnetWidth: 8, visionHeads: 4, visionWidth: 16, patchSize: 8, "
    + "textWidth: 16, textDepth: 1, textHeads: 2, embedDim: 8, imageInitFrom: \"torchvision:\(fixtures)/torchvision-resnet.safetensors\""

private func errorText(_ body: () throws -> Void) -> String {
    do { try body(); return "no error" } catch { return "\(error)" }
}

/// A copy of an open_clip fixture directory with its config (`edit`) or weights (`weights`) changed.
private func editedOpenCLIP(_ name: String, config edit: (inout [String: Any]) -> Void = { _ in },
                            weights: (inout [(name: String, tensor: Tensor)]) -> Void = { _ in }) throws -> String {
    let source = fixtures + "/openclip-" + name, dir = try makeTemporaryDirectory("bad-openclip")
    for file in ["vocab.json", "merges.txt", "tokenizer_config.json"] { try FileManager.default.copyItem(atPath: source + "/" + file, toPath: dir + "/" + file) }
    var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: source + "/open_clip_config.json"))) as! [String: Any]
    edit(&object)
    try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: dir + "/open_clip_config.json"))
    var tensors = try SafeTensors.readContents(source + "/open_clip_model.safetensors").tensors
    weights(&tensors)
    try SafeTensors.write(tensors, metadata: [:], to: dir + "/open_clip_model.safetensors")
    return dir
}

@Suite struct VisionInteropTests {
    @Test func torchvisionResNetMatchesTorchvisionWithin1e4() throws {
        let ref = try reference()
        let (method, log) = try built(torchvisionResNet, imageSize: 64)
        #expect(log.first?.contains("the image encoder starts from torchvision:") == true, "\(log)")
        // Its classifier and BatchNorm step counters are all that is not used.
        #expect(log.count == 2 && log[1].contains("not used (19): bn1.num_batches_tracked, fc.bias, fc.weight, layer1.0.bn1.num_batches_tracked"), "\(log)")
        let resnet = try #require(method.clip.resnet)
        let pixels = try #require(ref["torchvision.pixels"]), expected = try #require(ref["torchvision.layer4"])
        let got = try Autograd.withoutGrad { try resnet(pixels) }
        #expect(got.shape == expected.shape && maxRelativeDifference(got, expected) <= 1e-4, "\(maxRelativeDifference(got, expected))")
    }

    @Test(arguments: ["rn", "vit"]) func openCLIPMatchesOpenCLIPWithin1e4(_ name: String) throws {
        let ref = try reference()
        let pixels = try #require(ref["openclip-\(name).pixels"])
        let (method, log) = try built("initFrom: \"openclip:\(fixtures)/openclip-\(name)\"", imageSize: pixels.shape[2])
        let clip = method.clip
        #expect(log[0].contains("the CLIP model starts from openclip:"), "\(log)")
        // Only the ResNet's BatchNorm step counters (integers) are not used.
        #expect(name == "vit" ? log.count == 1 : log.count == 2 && log[1].contains("not used (19): visual.bn1.num_batches_tracked"), "\(log)")
        #expect(name == "vit" ? clip.visual != nil : clip.resnet?.style == .clip && clip.imageProjection == nil && clip.attentionPool?.outProj == nil)
        let mask = try #require(ref["openclip.attention_mask"]), idValues = try #require(ref["openclip.input_ids"])
        let ids = IndexTensor(shape: idValues.shape, values: idValues.scalars.map { Int32($0) })
        let expected = try [ref["openclip-\(name).image"], ref["openclip-\(name).text"]].map { try #require($0) }
        let got: [Tensor] = try Autograd.withoutGrad {
            let pooled = try CLIPModel.imageFeatures(pixels, visual: clip.visual, resnet: clip.resnet, attentionPool: clip.attentionPool,
                                                     width: clip.config.imageFeatureWidth)
            return [try clip.imageProjection.map { try $0(pooled) } ?? pooled, try clip.textFeatures(ids, padding: mask)]
        }
        for (what, (mine, theirs)) in zip(["encode_image", "encode_text"], zip(got, expected)) {
            #expect(mine.shape == theirs.shape && maxRelativeDifference(mine, theirs) <= 1e-4, "\(name) \(what): \(maxRelativeDifference(mine, theirs))")
        }
        #expect(abs(clip.logitScale.value.item - (try #require(ref["openclip-\(name).logit_scale"])).item) <= 1e-6)
    }

    @Test func runsStartFromOpenCLIPAndTorchvisionWeights() throws {
        let dir = try makeTemporaryDirectory("vision-init")
        func run(_ model: String, imageSize: Int, steps: Int, name: String) throws -> TrainingRun.Summary {
            let config = dir + "/\(name).yaml"
            try """
                method: clip
                seed: 5
                model: {\(model)}
                data: {syntheticCount: 64, imageSize: \(imageSize), contextLength: 20, vocabularySize: 100, workers: 1}
                train: {globalBatch: 8, steps: \(steps), warmupSteps: 0, learningRate: 1.0e-3, checkpointEvery: 2}
                eval: {zeroShot: true, linearProbe: true, retrieval: true, bootstrap: 0, compareUntrained: false}
                """.write(toFile: config, atomically: true, encoding: .utf8)
            return try train(config, dir + "/" + name, ranks: 1)
        }
        // PsPG's backbone shape: open_clip's ModifiedResNet with its causal text tower, from the directory.
        let rn = try run("initFrom: \"openclip:\(fixtures)/openclip-rn\"", imageSize: 64, steps: 2, name: "rn")
        #expect(rn.evaluation?.section("zero_shot") != nil && rn.evaluation?.section("retrieval") != nil)
        let resolved = try String(contentsOfFile: dir + "/rn/config.yaml", encoding: .utf8)
        for line in ["resnetStyle: clip", "resnetWidth: 4", "imageEncoder: resnet", "textArchitecture: clip", "embedDim: 16"] {
            #expect(resolved.contains(line), "\(line) in\n\(resolved)")
        }
        // ConVIRT's start: an ImageNet-style torchvision ResNet; its convolutions are the file's (grey stem summed).
        _ = try run(torchvisionResNet, imageSize: 64, steps: 1, name: "tv")
        let stored = Dictionary(uniqueKeysWithValues: try SafeTensors.readContents(fixtures + "/torchvision-resnet.safetensors").tensors.map { ($0.name, $0.tensor.scalars) })
        let saved = Dictionary(uniqueKeysWithValues: try finalCheckpoint(dir + "/tv").model.map { ($0.name, $0.tensor.scalars) })
        let conv = try #require(stored["layer3.0.conv2.weight"]), mine = try #require(saved["resnet.layers.2.conv2.weight"])
        #expect(zip(conv, mine).map { abs($0 - $1) }.max()! < 0.01 && conv != mine, "imported, then trained one step")
    }

    @Test func psPGFreezesAnOpenCLIPResNetAndReadsClassNamesWithItsBPE() throws {
        let dir = try makeTemporaryDirectory("pspg-openclip")
        let config = dir + "/pspg.yaml"
        try """
            method: pspg
            seed: 3
            model: {clipFrom: "openclip:\(fixtures)/openclip-rn", promptLength: 2, decoderHidden: 8, decoderHeads: 2}
            data: {syntheticCount: 64, imageSize: 64, contextLength: 20, workers: 1}
            train: {globalBatch: 8, steps: 2, optimizer: sgd, learningRate: 1.0e-2, warmupSteps: 0, checkpointEvery: 0}
            eval: {maxSamples: 16, linearProbe: false, retrieval: false, bootstrap: 0, compareUntrained: false}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let method = try RunConfigFile(path: config).buildMethod(classNames: PhantomFindings.classNames, vocabularySize: 100).method as! PromptLearningMethod
        #expect(method.tokenizer is ByteLevelBPETokenizer && method.network.clip.resnet?.style == .clip)
        // Prompts are framed by <|startoftext|> ... <|endoftext|> and read where the causal tower reads.
        #expect(method.start == 2512 && method.end == 2513 && method.network.clip.text.readout == .endOfText)
        let summary = try train(config, dir + "/run", ranks: 1)
        #expect(summary.evaluation?.section("classification") != nil || summary.evaluation?.sections.isEmpty == false)
        let saved = Dictionary(uniqueKeysWithValues: try finalCheckpoint(dir + "/run").model.map { ($0.name, $0.tensor.scalars) })
        let stored = Dictionary(uniqueKeysWithValues: try SafeTensors.readContents(fixtures + "/openclip-rn/open_clip_model.safetensors").tensors.map { ($0.name, $0.tensor.scalars) })
        // Frozen: the backbone is the file's after two steps; the learned scale started from its logit_scale.
        #expect(saved["clip.attentionPool.attention.proj.weight"] == stored["visual.attnpool.c_proj.weight"])
        #expect(saved["clip.textProjection.weight"]?.count == stored["text_projection"]?.count)
        #expect(saved["scale.value"] != nil)
    }

    @Test func priorStartsFromTorchvisionAndBERTAsThePaper() throws {
        let model = "resnetBlocks: [1, 1, 1, 1], resnetWidth: 8, poolHeads: 4, embedDim: 16, sentencePoolHeads: 2, prototypes: 8, queries: 4, "
            + "sentenceDecoderLayers: 1, sentenceDecoderHeads: 2, imageDecoderChannels: [8, 8, 8, 8, 4]"
        let paper = model + ", imageInitFrom: \"torchvision:\(fixtures)/torchvision-resnet.safetensors\", textInitFrom: \"hf:\(fixtures)/bert-tiny\""
        func prior(_ model: String) throws -> TrainingMethod {
            let yaml = "method: prior\nmodel: {\(model)}\ndata: {syntheticCount: 8, imageSize: 64, contextLength: 24}\n"
            return try RunConfigFile(yaml: yaml, source: "prior.yaml").buildMethod(classNames: [], vocabularySize: 100).method
        }
        let method = try prior(paper)
        let log = try WeightLoader.load(method.weightSources, into: method.model)
        #expect(log.contains { $0.contains("the image encoder starts from torchvision:") } && log.contains { $0.contains("the report encoder starts from hf:") }, "\(log)")
        #expect(method.textEncoding?.tokenizer.vocabularySize == 64)
        let state = Dictionary(uniqueKeysWithValues: method.model.namedState.map { ($0.name, $0.tensor.scalars) })
        let stored = Dictionary(uniqueKeysWithValues: try SafeTensors.readContents(fixtures + "/torchvision-resnet.safetensors").tensors.map { ($0.name, $0.tensor.scalars) })
        let bert = Dictionary(uniqueKeysWithValues: try SafeTensors.read(fixtures + "/bert-tiny/model.safetensors").map { ($0.name, $0.tensor.scalars) })
        #expect(state["visual.layers.2.conv2.weight"] == stored["layer3.0.conv2.weight"] && state["visual.layers.3.downsampleBN.runningVar"] == stored["layer4.0.downsample.1.running_var"])
        #expect(state["text.embeddingNorm.bias"] == bert["embeddings.LayerNorm.bias"] && state["text.encoder.blocks.1.mlp.fc1.weight"] == bert["encoder.layer.1.intermediate.dense.weight"])
        // The three stages train and the run evaluates (prompts and reports read with BERT's WordPiece, sentence by sentence).
        let dir = try makeTemporaryDirectory("prior-paper")
        try """
            method: prior
            seed: 4
            model: {\(paper)}
            data: {syntheticCount: 160, imageSize: 64, contextLength: 24, workers: 1}
            train:
              globalBatch: 8
              checkpointEvery: 0
              stages:
                - {name: alignment, steps: 1, learningRate: 1.0e-3, warmupSteps: 0}
                - {name: prototypes, steps: 1, learningRate: 1.0e-3, warmupSteps: 0}
                - {name: reconstruction, steps: 1, learningRate: 1.0e-3, warmupSteps: 0}
            eval: {maxSamples: 16, linearProbe: false, retrieval: true, bootstrap: 0, compareUntrained: false}
            """.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let summary = try train(dir + "/p.yaml", dir + "/run", ranks: 1)
        #expect(summary.steps == 3 && summary.evaluation?.section("retrieval") != nil)
        let basic = errorText { _ = try prior(model + ", resnetKind: basic, imageInitFrom: \"torchvision:x\"") }
        #expect(basic.contains("model.imageInitFrom is 'torchvision:x'") && basic.contains("bottleneck ResNet"), "\(basic)")
        let wide = errorText { _ = try prior(paper + ", textWidth: 64") }
        #expect(wide.contains("model.textWidth is 64 but hf:"), "\(wide)")
        let roberta = errorText { _ = try prior(model + ", textInitFrom: \"hf:\(fixtures)/roberta-tiny\"") }
        #expect(roberta.contains("is roberta; PRIOR reads reports sentence by sentence with WordPiece"), "\(roberta)")
    }

    @Test func m3aeStartsFromACLIPViTAndABERT() throws {
        let dir = try makeTemporaryDirectory("m3ae-public")
        func config(_ model: String) throws -> String {
            let path = dir + "/m3ae-\(UUID().uuidString.prefix(6)).yaml"
            try """
                method: m3ae
                seed: 3
                model: {\(model), fusionWidth: 16, fusionLayers: 1, fusionHeads: 2, mimLayer: 1, decoderWidth: 8, decoderDepth: 1, decoderHeads: 2}
                data: {syntheticCount: 64, imageSize: 48, contextLength: 16, workers: 1}
                train: {globalBatch: 8, steps: 1, learningRate: 1.0e-12, warmupSteps: 0, checkpointEvery: 0}
                eval: {maxSamples: 16, zeroShot: false, linearProbe: false, retrieval: false, bootstrap: 0, compareUntrained: false}
                """.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        // The official code keeps 11 of CLIP's 12 blocks (M1): here 1 of the fixture's 2, at another image size.
        let both = #"imageInitFrom: "hf:\#(fixtures)/clip-tiny", textInitFrom: "hf:\#(fixtures)/bert-tiny", visionDepth: 1"#
        let method = try RunConfigFile(path: try config(both)).buildMethod(classNames: [], vocabularySize: 100).method as! M3AEMethod
        let log = try WeightLoader.load(method.weightSources, into: method.model)
        // 19 tensors of one ViT block and its embeddings and norms; the second block and the text side are listed as not used.
        #expect(log.contains { $0.contains("positions resized from a 4² grid to 6²") } && log.contains { $0.contains("(clip, 19 tensors from 23 in") }
                && log.contains { $0.contains("not used (55): logit_scale, text_model.") }, "\(log)")
        #expect(method.tokenizer?.vocabularySize == 64 && method.config.textArchitecture == .bert && method.config.visionActivation == .quickGELU)
        let state = Dictionary(uniqueKeysWithValues: method.model.namedState.map { ($0.name, $0.tensor.scalars) })
        let clip = Dictionary(uniqueKeysWithValues: try SafeTensors.read(fixtures + "/clip-tiny/model.safetensors").map { ($0.name, $0.tensor.scalars) })
        let bert = Dictionary(uniqueKeysWithValues: try SafeTensors.read(fixtures + "/bert-tiny/model.safetensors").map { ($0.name, $0.tensor.scalars) })
        #expect(state["visual.encoder.blocks.0.mlp.fc2.weight"] == clip["vision_model.encoder.layers.0.mlp.fc2.weight"])
        #expect(state["visual.encoder.norm.bias"] == clip["vision_model.post_layernorm.bias"] && state["visual.preNorm.weight"] == clip["vision_model.pre_layrnorm.weight"])
        #expect(state["text.encoder.blocks.1.norm2.weight"] == bert["encoder.layer.1.output.LayerNorm.weight"])
        // It trains and evaluates like any M3AE run.
        let summary = try train(try config(both), dir + "/run", ranks: 1)
        #expect(summary.steps == 1)
        func refused(_ model: String) -> String { errorText { _ = try RunConfigFile(path: try config(model)).buildMethod(classNames: [], vocabularySize: 100) } }
        #expect(refused(#"imageInitFrom: "hf:\#(fixtures)/clip-tiny", visionDepth: 3"#).contains("has 2 blocks to start from"))
        #expect(refused(#"imageInitFrom: "hf:\#(fixtures)/clip-tiny", visionWidth: 64"#).contains("model.visionWidth is 64"))
        #expect(refused(#"imageInitFrom: "openclip:\#(fixtures)/openclip-rn""#).contains("has a ResNet image tower; M3AE masks ViT patches"))
        #expect(refused(#"textInitFrom: "hf:\#(fixtures)/roberta-tiny""#).contains("roberta-tiny: no tokenizer files"))
        #expect(refused(#"textInitFrom: "hf:\#(fixtures)/bert-tiny", initFrom: runs/x"#).contains("give one"))
    }

    @Test func whatCarinaCannotComputeExactlyAndDamagedFilesAreRefused() throws {
        func openCLIP(_ dir: String) -> String { errorText { _ = try built("initFrom: \"openclip:\(dir)\"", imageSize: 64) } }
        let pool = openCLIP(try editedOpenCLIP("rn", config: { o in
            var m = o["model_cfg"] as! [String: Any]; var v = m["vision_cfg"] as! [String: Any]; v["attentional_pool"] = true; m["vision_cfg"] = v; o["model_cfg"] = m }))
        #expect(pool.contains("'model_cfg.vision_cfg.attentional_pool' is 1") && pool.contains("open_clip's default"), "\(pool)")
        let siglip = openCLIP(try editedOpenCLIP("rn", config: { o in var m = o["model_cfg"] as! [String: Any]; m["init_logit_bias"] = -10; o["model_cfg"] = m }))
        #expect(siglip.contains("'model_cfg.init_logit_bias' is set") && siglip.contains("not CustomTextCLIP, SigLIP or CoCa"), "\(siglip)")
        let eos = openCLIP(try editedOpenCLIP("rn", config: { o in
            var m = o["model_cfg"] as! [String: Any]; var t = m["text_cfg"] as! [String: Any]; t["pool_type"] = "first"; m["text_cfg"] = t; o["model_cfg"] = m }))
        #expect(eos.contains("'model_cfg.text_cfg.pool_type' is first"), "\(eos)")
        let missing = try editedOpenCLIP("rn", weights: { $0.removeAll { $0.name == "visual.attnpool.c_proj.weight" } })
        let absent = openCLIP(missing)
        #expect(absent.contains("\(missing)/open_clip_model.safetensors") && absent.contains("'visual.attnpool.c_proj.weight'"), "\(absent)")
        let noWeights = try makeTemporaryDirectory("no-openclip")
        try FileManager.default.copyItem(atPath: fixtures + "/openclip-rn/open_clip_config.json", toPath: noWeights + "/open_clip_config.json")
        #expect(openCLIP(noWeights).contains("\(noWeights): no open_clip_model.safetensors"))
        // The tokenizer is not in an open_clip hub directory: the error says where to get it.
        let noTokenizer = try editedOpenCLIP("rn")
        for file in ["vocab.json", "merges.txt", "tokenizer_config.json"] { try FileManager.default.removeItem(atPath: noTokenizer + "/" + file) }
        #expect(openCLIP(noTokenizer).contains("copy open_clip/bpe_simple_vocab_16e6.txt.gz into \(noTokenizer)"))
        // torchvision weights fill a torchvision-style ResNet only, and every tensor must be there.
        let vit = errorText { _ = try built("imageInitFrom: \"torchvision:\(fixtures)/torchvision-resnet.safetensors\", patchSize: 8, visionWidth: 16, "
                                            + "visionDepth: 1, visionHeads: 2, textWidth: 16, textDepth: 1, textHeads: 2, embedDim: 8", imageSize: 64) }
        #expect(vit.contains("model.imageInitFrom (torchvision:) fills a torchvision-style ResNet"), "\(vit)")
        let dir = try makeTemporaryDirectory("bad-torchvision")
        var tensors = try SafeTensors.readContents(fixtures + "/torchvision-resnet.safetensors").tensors
        tensors.removeAll { $0.name == "layer2.0.downsample.1.running_var" }
        try SafeTensors.write(tensors, metadata: [:], to: dir + "/resnet.safetensors")
        let gap = errorText { _ = try built(torchvisionResNet.replacingOccurrences(of: fixtures + "/torchvision-resnet.safetensors", with: dir + "/resnet.safetensors"), imageSize: 64) }
        #expect(gap.contains("\(dir)/resnet.safetensors") && gap.contains("'layer2.0.downsample.1.running_var'"), "\(gap)")
        let deeper = errorText { _ = try built(torchvisionResNet.replacingOccurrences(of: "resnetBlocks: [1, 1, 1, 1]", with: "resnetBlocks: [1, 2, 1, 1]"), imageSize: 64) }
        #expect(deeper.contains("'layer2.1.conv1.weight'") && deeper.contains("not found"), "\(deeper)")
    }
}
