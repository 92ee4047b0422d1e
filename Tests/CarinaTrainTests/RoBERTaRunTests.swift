// RoBERTa end to end: a tiny random RobertaModel over a real byte-level BPE (Fixtures/interop/roberta-bpe, from
// scripts/interop-fixtures.py) read by Carina's tokenizer and encoder against HF's RobertaTokenizer and
// RobertaModel; a CLIP run and an M3AE run (masked-language modelling with RoBERTa's <mask> and whole words
// by its leading-space marker) start their report encoders from it.
// Not for: the encoder's parity on given ids (InteropParityTests) or the tokenizer rules (CarinaDataTests).
import CarinaCheckpoint
import CarinaData
@testable import CarinaModels
import CarinaNN
import CarinaTestSupport
@testable import CarinaTrain
import Foundation
import Testing

private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/interop").path
private let roberta = fixtures + "/roberta-bpe"
private let texts = ["No acute cardiopulmonary abnormality.", "Mild cardiomegaly with a small right pleural effusion.",
                     "Findings suggesting pneumothorax.", "Lungs are clear; no focal consolidation or effusion is seen on "
                     + "this frontal and lateral chest radiograph of the patient"]

@Suite struct RoBERTaRunTests {
    @Test func carinaReadsAndEncodesReportsAsTransformersDoes() throws {
        let ref = Dictionary(uniqueKeysWithValues: try SafeTensors.read(fixtures + "/roberta-bpe-outputs.safetensors").map { ($0.name, $0.tensor) })
        let tokenizer = try TokenizerFiles.load(directory: roberta)
        let encoded = texts.map { tokenizer.encode($0, contextLength: 20) }
        let hfIDs = try #require(ref["input_ids"]).scalars.map { Int32($0) }, hfMask = try #require(ref["attention_mask"]).scalars
        #expect(encoded.flatMap(\.ids) == hfIDs && encoded.flatMap(\.padding) == hfMask)
        let yaml = "method: clip\nmodel: {initFrom: \"hf:\(roberta)\", textPooler: true, patchSize: 8, visionWidth: 16, visionDepth: 1, visionHeads: 2, embedDim: 8}\n"
            + "data: {syntheticCount: 8, imageSize: 32, contextLength: 20}\n"
        let method = try RunConfigFile(yaml: yaml, source: "test").buildMethod(classNames: [], vocabularySize: 100).method as! CLIPMethod
        _ = try WeightLoader.load(method.weightSources, into: method.clip)
        let ids = IndexTensor(shape: [4, 20], values: encoded.flatMap(\.ids)), mask = Tensor(shape: [4, 20], values: encoded.flatMap(\.padding))
        let (hidden, pooled): (Tensor, Tensor) = try Autograd.withoutGrad {
            let h = try method.clip.text(ids, padding: mask)
            return (h, try method.clip.text.pooled(h.reshaped([80, 32]).indexSelect(axis: 0, [0, 20, 40, 60])))
        }
        #expect(maxRelativeDifference(hidden, try #require(ref["last_hidden_state"])) <= 1e-4)
        #expect(maxRelativeDifference(pooled, try #require(ref["pooler_output"])) <= 1e-4)
    }

    @Test func wholeWordMaskingKeepsRoBERTaWordsTogether() throws {
        let tokenizer = try TokenizerFiles.load(directory: roberta)
        let ids = tokenizer.encode(texts[1] + " " + texts[3], contextLength: 40).ids
        #expect(ids.contains { tokenizer.continuesWord($0) }, "the report has words of several tokens")
        var masked = 0
        for sample in 0..<40 {
            let m = TokenMasking.mask(ids: ids, tokenizer: tokenizer, probability: 0.3, wholeWord: true, seed: 1, epoch: 0, sampleIndex: sample)
            for i in 1..<ids.count where tokenizer.continuesWord(ids[i]) && ids[i - 1] != tokenizer.specials.start {
                #expect((m.labels[i] == -100) == (m.labels[i - 1] == -100), "token \(i) is masked apart from its word")
            }
            masked += m.labels.filter { $0 != -100 }.count
            #expect(m.ids.allSatisfy { (0..<Int32(tokenizer.vocabularySize)).contains($0) })
        }
        #expect(masked > 0)
    }

    @Test func clipAndM3AERunsStartTheirReportEncoderFromRoBERTa() throws {
        let dir = try makeTemporaryDirectory("roberta-runs")
        func run(_ method: String, _ model: String, _ name: String) throws -> TrainingRun.Summary {
            try """
                method: \(method)
                seed: 5
                model: {\(model)}
                data: {syntheticCount: 64, imageSize: 32, contextLength: 20, workers: 1}
                train: {globalBatch: 8, steps: 2, warmupSteps: 0, learningRate: 1.0e-3, checkpointEvery: 0}
                eval: {maxSamples: 16, zeroShot: \(method == "clip"), linearProbe: false, retrieval: true, bootstrap: 0, compareUntrained: false}
                """.write(toFile: dir + "/\(name).yaml", atomically: true, encoding: .utf8)
            return try train(dir + "/\(name).yaml", dir + "/" + name, ranks: 1)
        }
        let clip = try run("clip", "initFrom: \"hf:\(roberta)\", patchSize: 8, visionWidth: 16, visionDepth: 1, visionHeads: 2, embedDim: 8", "clip")
        #expect(clip.evaluation?.section("retrieval") != nil && clip.evaluation?.section("zero_shot") != nil)
        let m3ae = try run("m3ae", "textInitFrom: \"hf:\(roberta)\", wholeWordMasking: true, patchSize: 8, visionWidth: 16, visionDepth: 1, visionHeads: 2, "
                           + "fusionWidth: 16, fusionLayers: 1, fusionHeads: 2, mimLayer: 1, decoderWidth: 8, decoderDepth: 1, decoderHeads: 2", "m3ae")
        #expect(m3ae.steps == 2)
        let resolved = try String(contentsOfFile: dir + "/m3ae/config.yaml", encoding: .utf8)
        #expect(resolved.contains("textArchitecture: roberta") && resolved.contains("vocabSize: 742"), "\(resolved)")
        // The masked-language objective is measured with RoBERTa's tokens (a finite loss over <mask>ed positions).
        let objectives = try #require(m3ae.evaluation?.section("objectives"))
        let loss = try #require(objectives.metrics.first { $0.key == "mlm_loss" }?.value)
        #expect(loss.isFinite && loss > 0)
    }
}
