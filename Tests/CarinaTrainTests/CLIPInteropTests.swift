// OpenAI CLIP's architecture against HF transformers' CLIPModel: a tiny random CLIPModel directory
// (Fixtures/interop/clip-tiny, written by scripts/interop-fixtures.py with save_pretrained) imported through
// the name map, run on the script's images (RGB into a 3-channel stem, and grey into the stem summed to one
// channel) and reports, compared with transformers' vision tokens, embeddings, text hidden states and logits
// within 1e-4 of the largest reference value; its tokenizer files give HF's ids; a CLIP run starts from the
// directory and trains, checkpoints, resumes and evaluates; bad directories get errors naming file and tensor.
// Not for: the BERT / RoBERTa towers (InteropParityTests) or the tokenizer rules (CarinaDataTests).
import CarinaCheckpoint
import CarinaData
@testable import CarinaModels
import CarinaNN
import CarinaTestSupport
@testable import CarinaTrain
import Foundation
import Testing

private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/interop").path
private let clipTiny = fixtures + "/clip-tiny"

/// The script's inputs and transformers' outputs (clip-outputs.safetensors), by name without the "clip." prefix.
private func reference() throws -> [String: Tensor] {
    Dictionary(uniqueKeysWithValues: try SafeTensors.read(fixtures + "/clip-outputs.safetensors").map { (String($0.name.dropFirst(5)), $0.tensor) })
}

/// A Carina CLIP built from the directory's config.json for `channels`-channel 32-px images, loaded through the
/// weight source a `model.initFrom: hf:DIR` run uses; returns it and the loader's log.
private func importedCLIP(_ directory: String = clipTiny, channels: Int, imageSize: Int = 32) throws -> (CLIPModel, [String]) {
    var config = CLIPConfig()
    (config.imageSize, config.imageChannels, config.contextLength) = (imageSize, channels, 20)
    try HFCLIPModel(directory: directory).apply(to: &config)
    config.initFrom = "hf:" + directory
    let method = CLIPMethod(config: config, seed: 1)
    let log = try WeightLoader.load(method.weightSources, into: method.clip)
    return (method.clip, log)
}

private func errorText(_ body: () throws -> Void) -> String {
    do { try body(); return "no error" } catch { return "\(error)" }
}

/// A copy of clip-tiny whose weights (`edit`) or config.json (`config`) are changed.
private func editedCLIP(weights edit: (inout [(name: String, tensor: Tensor)]) throws -> Void = { _ in },
                        config: (inout [String: Any]) -> Void = { _ in }) throws -> String {
    let dir = try makeTemporaryDirectory("bad-clip")
    for file in ["vocab.json", "merges.txt", "tokenizer_config.json"] {
        try FileManager.default.copyItem(atPath: clipTiny + "/" + file, toPath: dir + "/" + file)
    }
    var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: clipTiny + "/config.json"))) as! [String: Any]
    config(&object)
    try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: dir + "/config.json"))
    var tensors = try SafeTensors.read(clipTiny + "/model.safetensors")
    try edit(&tensors)
    try SafeTensors.write(tensors, metadata: ["format": "pt"], to: dir + "/model.safetensors")
    return dir
}

@Suite struct CLIPInteropTests {
    @Test(arguments: ["rgb", "grey"]) func openAICLIPMatchesTransformersWithin1e4(_ tag: String) throws {
        let ref = try reference()
        let pixels = try #require(ref["pixel_" + tag])
        let (clip, log) = try importedCLIP(channels: pixels.shape[1])
        #expect(clip.text.causal && clip.text.readout == .endOfText && clip.visual?.preNorm != nil && clip.visual?.patchEmbed.bias == nil)
        // Every tensor of the file is used: the log has no "not used" line.
        #expect(log.count == 1 && log[0].contains("the CLIP model starts from hf:\(clipTiny) (clip, "), "\(log)")
        let idValues = try #require(ref["input_ids"]), mask = try #require(ref["attention_mask"])
        let ids = IndexTensor(shape: idValues.shape, values: idValues.scalars.map { Int32($0) })
        let visual = try #require(clip.visual)
        let expected = try ["vision_tokens", "image_embeds", "logits_per_image"].map { try #require(ref[tag + "." + $0]) }
            + ["text_hidden", "text_embeds"].map { try #require(ref[$0]) }
        let got: [Tensor] = try Autograd.withoutGrad {
            let image = try clip.embedImages(pixels), text = try clip.embedText(ids, padding: mask)
            return [try visual(pixels), image, try image.matmul(text, transposeOther: true) * clip.logitScale().item,
                    try clip.text(ids, padding: mask), text]
        }
        for (name, (mine, theirs)) in zip(["vision tokens", "image embeddings", "logits", "text hidden states", "text embeddings"], zip(got, expected)) {
            #expect(mine.shape == theirs.shape && maxRelativeDifference(mine, theirs) <= 1e-4, "\(name): \(maxRelativeDifference(mine, theirs))")
        }
    }

    @Test func theDirectorysTokenizerGivesTransformersIDs() throws {
        let ref = try reference()
        let tokenizer = try TokenizerFiles.load(directory: clipTiny)
        let texts = ["No acute cardiopulmonary abnormality.", "Mild cardiomegaly with a small right pleural effusion.",
                     "Findings suggesting pneumothorax.", "Lungs are clear; no focal consolidation or effusion is seen on "
                     + "this frontal and lateral chest radiograph of the patient"]
        let ids = try #require(ref["input_ids"]), mask = try #require(ref["attention_mask"])
        for (row, text) in texts.enumerated() {
            let mine = tokenizer.encode(text, contextLength: 20)
            let theirs = (0..<20).map { Int32(ids.scalars[row * 20 + $0]) }, real = (0..<20).map { mask.scalars[row * 20 + $0] }
            #expect(mine.padding == real, "row \(row)")
            // HF pads with <|endoftext|>, Carina (as OpenAI CLIP and open_clip) with 0: the tokens agree.
            #expect(zip(mine.ids, theirs).enumerated().allSatisfy { real[$0.offset] == 0 || $0.element.0 == $0.element.1 }, "row \(row): \(mine.ids) vs \(theirs)")
        }
    }

    @Test func anotherImageSizeResizesThePositions() throws {
        let (clip, log) = try importedCLIP(channels: 1, imageSize: 48)
        #expect(clip.visual?.positionEmbedding.shape == [37, 32])
        #expect(log.contains { $0.contains("visual.positionEmbedding: positions resized from a 4² grid to 6² (bicubic)") }, "\(log)")
    }

    @Test func badDirectoriesAreErrorsNamingTheFileAndTensor() throws {
        // A tensor the model needs is absent.
        let missing = try editedCLIP(weights: { $0.removeAll { $0.name == "vision_model.post_layernorm.weight" } })
        let absent = errorText { _ = try importedCLIP(missing, channels: 1) }
        #expect(absent.contains("\(missing)/model.safetensors") && absent.contains("'vision_model.post_layernorm.weight'") && absent.contains("not found"), "\(absent)")
        // A tensor of the wrong shape: the projection stored transposed.
        let transposed = try editedCLIP(weights: { tensors in
            let i = tensors.firstIndex { $0.name == "text_projection.weight" }!
            tensors[i].tensor = try tensors[i].tensor.transposed()
        })
        let shape = errorText { _ = try importedCLIP(transposed, channels: 1) }
        #expect(shape.contains("'text_projection.weight' has shape [32, 16] there but Carina's 'textProjection.weight' is [16, 32]"), "\(shape)")
        // q, k and v that cannot be joined.
        let ragged = try editedCLIP(weights: { tensors in
            let i = tensors.firstIndex { $0.name == "text_model.encoder.layers.1.self_attn.k_proj.weight" }!
            tensors[i].tensor = try tensors[i].tensor.slice(axis: 0, 0, 16)
        })
        #expect(errorText { _ = try importedCLIP(ragged, channels: 1) }.contains("'text_model.encoder.layers.1.self_attn.k_proj.weight' has shape [16, 32]"))
        // An RGB stem cannot feed 2-channel images.
        #expect(errorText { _ = try importedCLIP(channels: 2) }.contains("takes 3 input channels but this model's images have 2"))
        // Truncated weights.
        let truncated = try editedCLIP()
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: truncated + "/model.safetensors"))
        try handle.truncate(atOffset: 5000)
        try handle.close()
        let cut = errorText { _ = try importedCLIP(truncated, channels: 1) }
        #expect(cut.contains("\(truncated)/model.safetensors"), "\(cut)")
        // config.json keys Carina cannot compute exactly are refused by name.
        func config(_ edit: @escaping (inout [String: Any]) -> Void) throws -> String {
            let dir = try editedCLIP(config: edit)
            return errorText { _ = try HFCLIPModel(directory: dir) }
        }
        let act = try config { o in var v = o["vision_config"] as! [String: Any]; v["hidden_act"] = "gelu_new"; o["vision_config"] = v }
        #expect(act.contains("'vision_config.hidden_act' is \"gelu_new\""), "\(act)")
        let eps = try config { o in var v = o["vision_config"] as! [String: Any]; v["layer_norm_eps"] = 1e-6; o["vision_config"] = v }
        #expect(eps.contains("'vision_config.layer_norm_eps'"), "\(eps)")
        let heads = try config { o in var t = o["text_config"] as! [String: Any]; t["num_attention_heads"] = 5; o["text_config"] = t }
        #expect(heads.contains("'text_config.hidden_size' 32 does not split into num_attention_heads 5"), "\(heads)")
        #expect(try config { $0["text_config"] = "big" }.contains("'text_config' is not a JSON object"))
    }

    @Test func aCLIPRunStartsFromTheCLIPModelDirectory() throws {
        let dir = try makeTemporaryDirectory("hf-clip-init")
        func yaml(steps: Int, learningRate: String) throws -> String {
            let path = dir + "/clip-\(UUID().uuidString.prefix(6)).yaml"
            try """
                method: clip
                seed: 5
                model: {initFrom: "hf:\(clipTiny)"}
                data: {syntheticCount: 64, imageSize: 32, contextLength: 20, vocabularySize: 100, workers: 1}
                train: {globalBatch: 8, steps: \(steps), warmupSteps: 0, learningRate: \(learningRate), checkpointEvery: 2}
                eval: {zeroShot: true, linearProbe: false, retrieval: true, bootstrap: 0, compareUntrained: false}
                """.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        // A learning rate of ~0 keeps the imported weights: the checkpoint holds what was loaded.
        try train(yaml(steps: 1, learningRate: "1.0e-12"), dir + "/still", ranks: 1)
        let stored = Dictionary(uniqueKeysWithValues: try SafeTensors.read(clipTiny + "/model.safetensors").map { ($0.name, $0.tensor) })
        let model = Dictionary(uniqueKeysWithValues: try finalCheckpoint(dir + "/still").model.map { ($0.name, $0.tensor.scalars) })
        func close(_ a: [Float]?, _ b: [Float]) -> Bool { a.map { $0.count == b.count && zip($0, b).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($1)) } } ?? false }
        #expect(close(model["text.tokenEmbedding.weight"], stored["text_model.embeddings.token_embedding.weight"]!.scalars))
        #expect(close(model["visual.encoder.norm.bias"], stored["vision_model.post_layernorm.bias"]!.scalars))
        #expect(close(model["logitScale.value"], stored["logit_scale"]!.scalars))
        // Grey phantoms: the RGB stem summed over its channels.
        let conv = stored["vision_model.embeddings.patch_embedding.weight"]!.scalars  // (32, 3, 8, 8)
        var summed = [Float](repeating: 0, count: 32 * 64)
        for o in 0..<32 {
            for k in 0..<64 { summed[o * 64 + k] = conv[o * 192 + k] + conv[o * 192 + 64 + k] + conv[o * 192 + 128 + k] }
        }
        #expect(close(model["visual.patchEmbed.weight"], summed))
        let resolved = try String(contentsOfFile: dir + "/still/config.yaml", encoding: .utf8)
        for line in ["textArchitecture: clip", "textActivation: quick_gelu", "visionActivation: quick_gelu", "patchBias: false", "preNorm: true",
                     "vocabSize: 2514", "embedDim: 16", "textPositions: 24"] {
            #expect(resolved.contains(line), "\(line) in\n\(resolved)")
        }
        // It trains, checkpoints every 2 steps, resumes bit-identically and evaluates (zero-shot prompts and
        // reports read with the directory's BPE and read out at <|endoftext|>).
        let config = try yaml(steps: 4, learningRate: "1.0e-3")
        let whole = try train(config, dir + "/whole", ranks: 1)
        _ = try train(config, dir + "/stopped", ranks: 1, stopAt: 2)
        let resumed = try train(config, dir + "/stopped", ranks: 1)
        #expect(resumed.resumedFrom?.hasSuffix("step-00000002.ckpt") == true)
        let a = try finalCheckpoint(dir + "/whole").model, b = try finalCheckpoint(dir + "/stopped").model
        #expect(zip(a, b).allSatisfy { $0.name == $1.name && $0.tensor.scalars == $1.tensor.scalars })
        #expect(whole.evaluation?.section("retrieval") != nil && whole.evaluation?.section("zero_shot") != nil, "\(String(describing: whole.evaluation))")
        let moved = a.first { $0.name == "text.encoder.blocks.0.attn.qkv.weight" }!.tensor.scalars
        #expect(!close(moved, model["text.encoder.blocks.0.attn.qkv.weight"]!), "the imported model trains")
    }
}
