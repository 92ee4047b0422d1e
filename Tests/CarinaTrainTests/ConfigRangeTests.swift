// Config sizes are range-checked before anything is allocated, with the file and the key path: a zero
// patch or head count (a division by zero), a negative or huge size (a trap or a terabyte allocation), a
// global batch of zero or one that does not split over the ranks.
import Foundation
import Testing
import CarinaData
import CarinaDist
import CarinaModels
import CarinaTestSupport
import CarinaTrain

@Suite struct ConfigRangeTests {
    /// The error building the model section `model` (YAML lines) of `method` gives, or "no error".
    func modelError(_ method: String, _ model: String) -> String {
        do {
            let file = try RunConfigFile(yaml: "method: \(method)\nmodel:\n\(model)\ndata:\n  imageSize: 32\n", source: "bad.yaml")
            _ = try file.buildMethod(classNames: PhantomFindings.classNames, vocabularySize: 100)
            return "no error"
        } catch { return "\(error)" }
    }

    @Test func modelSizesAreCheckedWithTheirKeys() {
        for (model, expected) in [("  patchSize: 0", "bad.yaml: model.patchSize is 0"), ("  visionHeads: 0", "bad.yaml: model.visionHeads is 0"),
                                  ("  visionWidth: 1000000000", "bad.yaml: model.visionWidth is 1000000000"),
                                  ("  patchSize: 5", "model.patchSize 5 does not tile 32-px images"),
                                  ("  textWidth: 10\n  textHeads: 3", "model.textWidth 10 does not split into 3 heads"),
                                  ("  imageEncoder: resnet\n  resnetBlocks: []", "model.resnetBlocks [] must list"),
                                  ("  initialTemperature: 0", "model.initialTemperature is 0.0")] {
            let error = modelError("clip", model)
            #expect(error.contains(expected), "\(model): \(error)")
        }
        #expect(modelError("finetune", "  encoder:\n    visionHeads: 0").contains("bad.yaml: model.encoder.visionHeads is 0"))
        #expect(modelError("pspg", "  clip:\n    patchSize: 0").contains("bad.yaml: model.clip.patchSize is 0"))
        #expect(modelError("pspg", "  promptLength: 1000000000").contains("bad.yaml: model.promptLength (1000000000) must be in 1...62"))
        #expect(modelError("coop", "  promptLength: 0").contains("model.promptLength (0)"))
        #expect(modelError("clip", "  patchSize: 8") == "no error")
    }

    @Test func reportEncoderOptionsAreCheckedWithTheirKeys() {
        for (model, expected) in [("  textArchitecture: roberta", "model.textPositions is 0; contextLength 64 needs at least 66 (RoBERTa's positions start after textPaddingIndex 1)"),
                                  ("  textArchitecture: bert\n  textPositions: 10", "model.textPositions is 10; contextLength 64 needs at least 64"),
                                  ("  textArchitecture: gpt", "model.textArchitecture"),
                                  ("  textPooler: true", "model.textPooler is for textArchitecture bert or roberta, not carina"),
                                  ("  textArchitecture: bert\n  textNormEps: 2", "model.textNormEps is 2.0; it must be in [0, 1)"),
                                  ("  textIntermediate: -1", "model.textIntermediate is -1"),
                                  ("  textArchitecture: bert\n  textTokenTypes: 0", "model.textTokenTypes is 0"),
                                  ("  textArchitecture: roberta\n  textPositions: 200\n  textPaddingIndex: 100", "model.textPaddingIndex is 100; it must be in 0...99")] {
            let error = modelError("clip", model)
            #expect(error.contains(expected), "\(model): \(error)")
        }
        #expect(modelError("clip", "  textArchitecture: bert\n  textPooler: true\n  textPositions: 512") == "no error")
        #expect(modelError("clip", "  textLearningRateScale: -0.5").contains("bad.yaml: model.textLearningRateScale is -0.5"))
        #expect(modelError("finetune", "  encoder:\n    initFrom: hf:x").contains("model.encoder.initFrom: fine-tuning has no report encoder to import"))
        #expect(modelError("pspg", "  clip:\n    initFrom: hf:x").contains("model.clip.initFrom: the frozen CLIP comes from a CLIP run"))
    }

    /// `textLearningRateScale` reaches the optimizer for the report encoder's parameters only.
    @Test func theReportEncodersLearningRateScaleReachesTheOptimizer() throws {
        let file = try RunConfigFile(yaml: "method: clip\nmodel:\n  patchSize: 8\n  textLearningRateScale: 0.1\ndata:\n  imageSize: 32\n", source: "scale.yaml")
        let method = try file.buildMethod(classNames: PhantomFindings.classNames, vocabularySize: 100).method
        let trainer = try Trainer(config: file.run, method: method, communicator: LocalWorld(size: 1).communicators()[0], runDirectory: nil,
                                  plan: TrainingPlan(file.run, batchesPerEpoch: 10, method: method)) { _ in }
        let scaled = trainer.optimizer.parameters.filter { $0.learningRateScale == 0.1 }.map(\.name)
        #expect(!scaled.isEmpty && scaled.allSatisfy { $0.hasPrefix("text.") }
                && trainer.optimizer.parameters.allSatisfy { $0.name.hasPrefix("text.") || $0.learningRateScale == 1 }, "\(scaled)")
        #expect(scaled.count == method.model.namedParameters.filter { $0.name.hasPrefix("text.") }.count)
    }

    @Test func dataAndBatchSizesAreCheckedWithTheirKeys() throws {
        let dir = try makeTemporaryDirectory("range")
        for (line, expected) in [("data:\n  imageSize: -3", "data.imageSize is -3"), ("data:\n  imageSize: 1000000000", "data.imageSize is 1000000000"),
                                 ("data:\n  contextLength: 0", "data.contextLength is 0"), ("train:\n  globalBatch: 0", "train.globalBatch is 0"),
                                 ("train:\n  globalBatch: 7", "train.globalBatch 7 does not split over 2 ranks"),
                                 ("train:\n  collectiveTimeout: 0", "train.collectiveTimeout is 0.0 s; it must be in 1...604800"),
                                 ("train:\n  collectiveTimeout: 1.0e9", "train.collectiveTimeout is 1000000000.0 s"),
                                 ("train:\n  onCheckpointError: retry", "train.onCheckpointError must be stop or continue, got 'retry'")] {
            let path = dir + "/c-\(UUID().uuidString.prefix(6)).yaml"
            try "method: clip\n\(line)\n".write(toFile: path, atomically: true, encoding: .utf8)
            let errors = try LocalWorld.run(size: 2) { comm -> String in
                do {
                    _ = try TrainingRun(configPath: path, runDirectory: dir + "/run", communicator: comm) { _ in }
                    return "no error"
                } catch { return "\(error)" }
            }
            #expect(errors.allSatisfy { $0.contains(path) && $0.contains(expected) }, "\(line): \(errors)")
        }
    }
}
