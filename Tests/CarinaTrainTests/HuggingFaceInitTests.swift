// A CLIP run whose report encoder starts from a Hugging Face BERT directory (`model.initFrom: hf:DIR`): the
// directory's sizes and vocabulary are used, its tensors are the encoder's starting weights through the name
// map, and the run trains, checkpoints, resumes and evaluates like any other; configs that contradict the
// directory stop at start-up naming the key. Not for: numerical parity (InteropParityTests).
import CarinaCheckpoint
import CarinaData
import CarinaModels
import CarinaTestSupport
@testable import CarinaTrain
import Foundation
import Testing

private let bert = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/interop/bert-tiny").path

private func config(_ dir: String, model extra: String = "", contextLength: Int = 16, steps: Int = 4, learningRate: String = "1.0e-3") throws -> String {
    let yaml = """
        method: clip
        seed: 5
        model:
          initFrom: hf:\(bert)
          textPooler: true
          patchSize: 8
          visionWidth: 16
          visionDepth: 1
          visionHeads: 2
          embedDim: 8
        \(extra)
        data:
          syntheticCount: 64
          imageSize: 32
          contextLength: \(contextLength)
          vocabularySize: 100
          workers: 1
        train:
          globalBatch: 8
          steps: \(steps)
          warmupSteps: 0
          learningRate: \(learningRate)
          checkpointEvery: 2
        eval:
          zeroShot: false
          linearProbe: false
          retrieval: true
          bootstrap: 0
          compareUntrained: false
        """
    let path = dir + "/clip-\(UUID().uuidString.prefix(6)).yaml"
    try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Suite struct HuggingFaceInitTests {
    @Test func aCLIPRunStartsItsReportEncoderFromABERTDirectory() throws {
        let dir = try makeTemporaryDirectory("hf-init")
        // A learning rate of ~0 keeps the imported weights, so the checkpoint shows what was loaded.
        try train(config(dir, steps: 1, learningRate: "1.0e-12"), dir + "/still", ranks: 1)
        let stored = Dictionary(uniqueKeysWithValues: try SafeTensors.read(bert + "/model.safetensors").map { ($0.name, $0.tensor.scalars) })
        let model = Dictionary(uniqueKeysWithValues: try finalCheckpoint(dir + "/still").model.map { ($0.name, $0.tensor.scalars) })
        func close(_ a: [Float]?, _ b: [Float]) -> Bool { a.map { zip($0, b).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($1)) } && $0.count == b.count } ?? false }
        #expect(close(model["text.tokenEmbedding.weight"], stored["embeddings.word_embeddings.weight"]!))
        #expect(close(model["text.encoder.blocks.1.norm2.bias"], stored["encoder.layer.1.output.LayerNorm.bias"]!))
        #expect(close(model["text.pooler.weight"], stored["pooler.dense.weight"]!))
        let qkv = ["query", "key", "value"].flatMap { stored["encoder.layer.0.attention.self.\($0).weight"]! }
        #expect(close(model["text.encoder.blocks.0.attn.qkv.weight"], qkv))
        // The directory's sizes and vocabulary were used (its 64 words, not the 100 this data would build).
        let resolved = try String(contentsOfFile: dir + "/still/config.yaml", encoding: .utf8)
        for line in ["textArchitecture: bert", "textWidth: 32", "textDepth: 2", "textHeads: 4", "textIntermediate: 64", "textPositions: 24", "vocabSize: 64"] {
            #expect(resolved.contains(line), "\(line) in\n\(resolved)")
        }
        // It trains, checkpoints every 2 steps, resumes bit-identically and evaluates like any other run.
        try train(config(dir), dir + "/whole", ranks: 1)
        _ = try train(config(dir), dir + "/stopped", ranks: 1, stopAt: 2)
        let resumed = try train(config(dir), dir + "/stopped", ranks: 1)
        #expect(resumed.resumedFrom?.hasSuffix("step-00000002.ckpt") == true)
        let a = try finalCheckpoint(dir + "/whole").model, b = try finalCheckpoint(dir + "/stopped").model
        #expect(zip(a, b).allSatisfy { $0.name == $1.name && $0.tensor.scalars == $1.tensor.scalars })
        #expect(resumed.evaluation?.section("retrieval") != nil)
        let moved = try finalCheckpoint(dir + "/whole").model.first { $0.name == "text.encoder.blocks.0.attn.qkv.weight" }!.tensor.scalars
        #expect(!close(moved, qkv), "the imported encoder trains")
        // A method that builds on the run (PsPG's frozen CLIP) reads class names with the imported vocabulary.
        let pspg = dir + "/pspg.yaml"
        try """
            method: pspg
            seed: 3
            model: {clipFrom: \(dir)/whole, promptLength: 2, decoderHidden: 8, decoderHeads: 2}
            data: {syntheticCount: 64, imageSize: 32, workers: 1}
            train: {globalBatch: 8, steps: 1, optimizer: sgd, learningRate: 1.0e-2, warmupSteps: 0, checkpointEvery: 0}
            eval: {maxSamples: 16, linearProbe: false, retrieval: false, bootstrap: 0, compareUntrained: false}
            """.write(toFile: pspg, atomically: true, encoding: .utf8)
        let method = try RunConfigFile(path: pspg).buildMethod(classNames: ["Cardiomegaly", "Effusion"], vocabularySize: 100).method
        #expect(method.textEncoding?.tokenizer.vocabularySize == 64 && method.textEncoding?.contextLength == 16)
        // M3AE starts from that run: its report encoder is the post-LN BERT tower with the CLIP's weights.
        let m3ae = dir + "/m3ae.yaml"
        try """
            method: m3ae
            seed: 3
            model: {initFrom: \(dir)/whole, fusionWidth: 16, fusionLayers: 1, fusionHeads: 2, mimLayer: 1, decoderWidth: 8, decoderDepth: 1, decoderHeads: 2}
            data: {syntheticCount: 64, imageSize: 32, workers: 1}
            train: {globalBatch: 8, steps: 1, learningRate: 1.0e-12, warmupSteps: 0, checkpointEvery: 0}
            eval: {maxSamples: 16, zeroShot: false, linearProbe: false, retrieval: false, bootstrap: 0, compareUntrained: false}
            """.write(toFile: m3ae, atomically: true, encoding: .utf8)
        try train(m3ae, dir + "/m3ae", ranks: 1)
        let clip = Dictionary(uniqueKeysWithValues: try finalCheckpoint(dir + "/whole").model.map { ($0.name, $0.tensor.scalars) })
        let fused = try finalCheckpoint(dir + "/m3ae").model.filter { $0.name.hasPrefix("text.") }
        #expect(fused.contains { $0.name == "text.tokenTypeEmbedding" } && fused.count == clip.keys.filter { $0.hasPrefix("text.") }.count)
        for t in fused { #expect(close(t.tensor.scalars, clip[t.name] ?? []), "\(t.name)") }
        #expect(try String(contentsOfFile: dir + "/m3ae/config.yaml", encoding: .utf8).contains("textArchitecture: bert"))
    }

    @Test func configsThatContradictTheDirectoryStopAtStartUpNamingTheKey() throws {
        let dir = try makeTemporaryDirectory("hf-init-bad")
        func startUp(_ path: String) -> String {
            do { try train(path, dir + "/run-" + UUID().uuidString.prefix(6), ranks: 1); return "no error" } catch { return "\(error)" }
        }
        let width = startUp(try config(dir, model: "  textWidth: 16"))
        #expect(width.contains("model.textWidth is 16 but hf:\(bert) has 32") && width.contains("leave it out"), "\(width)")
        let context = startUp(try config(dir, contextLength: 32))
        #expect(context.contains("data.contextLength is 32 but \(bert) has positions for 24 tokens"), "\(context)")
        func edited(_ from: String, _ to: String) throws -> String {
            let path = try config(dir)
            try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: from, with: to).write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let notHF = startUp(try edited("initFrom: hf:", "initFrom: "))
        #expect(notHF.contains("a CLIP run starts from hf:DIR"), "\(notHF)")
        let nowhere = startUp(try edited("hf:\(bert)", "hf:\(dir)/nowhere"))
        #expect(nowhere.contains("model.initFrom") && nowhere.contains("\(dir)/nowhere: not a directory"), "\(nowhere)")
    }
}
