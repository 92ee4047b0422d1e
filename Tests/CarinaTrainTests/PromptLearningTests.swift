// PsPG and the prompt-learning baselines: the decoder and Spatial Fusion against finite differences and
// their equations, the pair losses through the data-parallel equivalence check, a PsPG run on a CLIP run's
// frozen towers (parameters and BatchNorm statistics untouched, class features from the loaded tower),
// start-up errors for a bad `clipFrom`, and a run that beats the fixed prompt pairs.
import Foundation
import Testing
import CarinaCheckpoint
import CarinaData
import CarinaDist
import CarinaModels
import CarinaNN
import CarinaTestSupport
import CarinaTrain

@Suite struct PromptLearningTests {
    @Test func decoderWritesPromptsWithCheckedGradients() throws {
        var rng = RNG(seed: 21)
        let decoder = PromptDecoder(embedDim: 4, hidden: 4, textWidth: 6, length: 3, heads: 2, dropout: 0, rng: &rng)
        let names = randomTensor([3, 4], stream: 1), images = randomTensor([5, 4], stream: 2)
        let key = RandomKey(seed: 1, stream: 2)
        #expect(try decoder(classFeatures: names, images: images, dropoutKey: key).shape == [3, 3, 6])
        try checkGradients([names, images, decoder.gru.weightIH, decoder.memoryProjection.weight, decoder.classAttention.qkv.weight,
                            decoder.mix.weight, decoder.norm.weight, decoder.imageAttention.key.weight, decoder.output.bias!,
                            decoder.promptProjection.weight]) { t in
            try decoder(classFeatures: t[0], images: t[1], dropoutKey: key)
        }
        // A class's prompt depends on the other classes (self-attention) and on every image of the batch.
        let base = try decoder(classFeatures: names, images: images, dropoutKey: key).scalars
        let otherImage = images.copy()
        otherImage.pointer[19] += 0.5
        #expect(try decoder(classFeatures: names, images: otherImage, dropoutKey: key).scalars != base)
        // Dropout draws by (key, class row): the same key gives the same prompts; evaluation mode none.
        let dropping = PromptDecoder(embedDim: 4, hidden: 4, textWidth: 6, length: 2, heads: 2, dropout: 0.5, rng: &rng)
        let a = try dropping(classFeatures: names, images: images, dropoutKey: key).scalars
        #expect(try dropping(classFeatures: names, images: images, dropoutKey: key).scalars == a)
        #expect(try dropping(classFeatures: names, images: images, dropoutKey: RandomKey(seed: 1, stream: 3)).scalars != a)
    }

    @Test func spatialFusionIsTheECAGate() throws {
        #expect([50, 65, 17, 256, 2].map(SpatialFusion.kernelSize) == [3, 3, 3, 5, 1])
        var rng = RNG(seed: 22)
        #expect(SpatialFusion(tokens: 5, rng: &rng).kernel == 1)
        let fusion = SpatialFusion(tokens: 17, rng: &rng)
        #expect(fusion.kernel == 3)
        let x = randomTensor([2, 5, 4], stream: 3)
        let y = try fusion(x)
        // Reference: two convolutions (mean and max branch), zero padding 1, summed, sigmoid, times the token.
        let w = fusion.weight.scalars
        for b in 0..<2 {
            func stat(_ t: Int, _ f: ([Float]) -> Float) -> Float {
                guard (0..<5).contains(t) else { return 0 }
                return f((0..<4).map { x[b, t, $0] })
            }
            for t in 0..<5 {
                var a: Float = 0, m: Float = 0
                for i in 0..<3 {
                    a += w[i] * stat(t + i - 1) { $0.reduce(0, +) / 4 }
                    m += w[i] * stat(t + i - 1) { $0.max()! }
                }
                let gate = 1 / (1 + exp(-(a + m)))
                for c in 0..<4 { #expect(abs(y[b, t, c] - x[b, t, c] * gate) < 1e-5) }
            }
        }
        try checkGradients([x, fusion.weight]) { t in try fusion(t[0]) }
    }

    /// `registration`'s equivalence check with `members` (JSON object members) added to its test model.
    func check(_ registration: MethodRegistration, adding members: String, contextLength: Int = 16) -> EquivalenceCheck {
        var check = EquivalenceCheck(registration)
        check.model = String(check.model.dropLast()) + ", " + members + "}"
        check.contextLength = contextLength
        return check
    }

    @Test func pairLossesAndEveryKindMatchOneProcess() throws {
        // nameInPrompt: PsPG's prompts [CLS] P_c name [SEP], one length per class (padding masked); a context
        // of 20 leaves room for the 3 vectors and 'Support Devices' (13 pieces).
        for (name, members, contextLength) in [("pspg", #""loss": "pair""#, 16), ("pspg", #""loss": "softPair""#, 16),
                                               ("dualcoop", #""loss": "ranking""#, 16),
                                               ("pspg", #""loss": "ranking", "nameInPrompt": true"#, 20)] {
            let fixed = check(try MethodRegistry.registration(name, source: "test"), adding: members, contextLength: contextLength)
            for size in [2, 4] {
                let outcomes = try LocalWorld.run(size: size) { comm in try fixed.run(comm) }
                #expect(outcomes.allSatisfy { $0.passes() }, "\(name) \(members) on \(size) ranks: \(outcomes.map { ($0.lossDifference, $0.worstGradient, $0.worstParameter) })")
            }
        }
        // The name changes the prompts (so the loss), and only PsPG takes the option.
        var plain = EquivalenceCheck(PromptLearningMethod.registration)
        plain.contextLength = 20
        let named = check(PromptLearningMethod.registration, adding: #""nameInPrompt": true"#, contextLength: 20)
        let losses = try [plain, named].map { check in try LocalWorld.run(size: 1) { comm in try check.run(comm) }[0].referenceLoss }
        #expect(losses[0] != losses[1])
        let coop = check(PromptLearningMethod.coopRegistration, adding: #""nameInPrompt": true"#)
        #expect(throws: ConfigError.self) { try LocalWorld.run(size: 1) { comm in try coop.run(comm) } }
    }

    /// A tiny CLIP run with a ResNet image tower (BatchNorm statistics to keep) at 64 px.
    func clipRun(_ dir: String, steps: Int = 3) throws -> String {
        let yaml = """
            method: clip
            seed: 3
            model:
              imageEncoder: resnet
              resnetBlocks: [1, 1, 1, 1]
              resnetWidth: 4
              visionWidth: 16
              visionHeads: 2
              textWidth: 16
              textDepth: 1
              textHeads: 2
              embedDim: 8
            data:
              syntheticCount: 120
              imageSize: 64
              contextLength: 24
              vocabularySize: 300
              workers: 1
            train:
              globalBatch: 8
              steps: \(steps)
              warmupSteps: 1
              checkpointEvery: 0
            eval:
              zeroShot: false
              linearProbe: false
              retrieval: false
              compareUntrained: false
            """
        try yaml.write(toFile: dir + "/clip.yaml", atomically: true, encoding: .utf8)
        try train(dir + "/clip.yaml", dir + "/clip", ranks: 1)
        return dir + "/clip"
    }

    func pspgConfig(_ dir: String, clipFrom: String, imageSize: Int = 64, extraModel: String = "", steps: Int = 3) throws -> String {
        let yaml = """
            method: pspg
            seed: 3
            model:
              clipFrom: \(clipFrom)
              promptLength: 2
              decoderHidden: 8
              decoderHeads: 2
            \(extraModel)
            data:
              syntheticCount: 120
              imageSize: \(imageSize)
              workers: 1
            train:
              globalBatch: 8
              steps: \(steps)
              optimizer: sgd
              nesterov: true
              learningRate: 1.0e-2
              weightDecay: 0.05
              warmupSteps: 1
              checkpointEvery: 0
            eval:
              maxSamples: 16
              linearProbe: false
              retrieval: false
              bootstrap: 0
              compareUntrained: false
            """
        let path = dir + "/pspg-\(UUID().uuidString.prefix(6)).yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func temporaryDirectory() throws -> String { try makeTemporaryDirectory("pspg") }

    @Test func trainsPromptsOnAFrozenCLIPRun() throws {
        let dir = try temporaryDirectory()
        let clip = try clipRun(dir)
        let clipState = try finalCheckpoint(clip).model
        final class Lines: @unchecked Sendable { var all: [String] = [] }
        let lines = Lines()
        let config = try pspgConfig(dir, clipFrom: clip)
        let summary = try LocalWorld.run(size: 2) { comm -> TrainingRun.Summary in
            let r = try TrainingRun(configPath: config, runDirectory: dir + "/pspg", communicator: comm) { lines.all.append($0) }
            r.stopCheck = { _ in nil }
            return try r.run(resume: .auto)
        }[0]
        #expect(lines.all.contains { $0.contains("the frozen CLIP starts from") && $0.contains(clip) }, "\(lines.all)")
        let trained = try finalCheckpoint(dir + "/pspg").model
        let byName = Dictionary(uniqueKeysWithValues: trained.map { ($0.name, $0.tensor.scalars) })
        // Every CLIP tensor — weights and BatchNorm running statistics — is bit for bit what the CLIP run saved.
        #expect(clipState.contains { $0.name.hasSuffix("runningMean") })
        for (name, tensor) in clipState { #expect(byName["clip." + name] == tensor.scalars, "clip.\(name) changed") }
        // The prompt learner trained; the logit scale started from the CLIP's and moved.
        let clipScale = try #require(clipState.first { $0.name == "logitScale.value" }).tensor.item
        #expect(byName["scale.value"]![0] != clipScale)
        // The resolved config records the CLIP run's sizes; the evaluation scores every finding by prompt.
        let resolved = try String(contentsOfFile: dir + "/pspg/config.yaml", encoding: .utf8)
        #expect(resolved.contains("resnetWidth: 4") && resolved.contains("clipFrom: \(clip)"))
        let report = try #require(summary.evaluation)
        #expect(report.section("classifier")?.perClass.count == PhantomFindings.classNames.count)
        // The frozen CLIP is evaluated too: fixed-prompt zero-shot beside the learned prompts.
        #expect(report.section("zero_shot") != nil)
    }

    /// The end-to-end claim, at a size a test can afford: the quickstart's CLIP architecture narrowed (width 128,
    /// 4 + 2 layers) at 64 px, 800 steps on 4096 phantoms (about 100 s), then PsPG as `configs/pspg-tiny.yaml`
    /// trains it (global image feature, ranking loss, AdamW, 6 epochs; about 40 s). Over the six findings both
    /// score (the fixed pairs cannot score "No Finding"), the learned prompts beat PsPG's fixed prompt pairs on
    /// the same frozen CLIP: 0.729 against 0.672 on the 444 `valid` phantoms (release build, 2026-12-05;
    /// Cardiomegaly and Pleural Effusion 1.000 against 0.899 and 0.759). A smaller CLIP (width 32, 32 px: tried
    /// from 300 to 8000 steps) embedded the images along about one direction and the learned prompts stayed
    /// within ±0.05 of the fixed ones.
    @Test func learnedPromptsBeatTheFixedPromptsOnTheSameFindings() throws {
        let dir = try temporaryDirectory()
        let clip = """
            method: clip
            seed: 1
            model: {imageEncoder: vit, patchSize: 16, visionWidth: 128, visionDepth: 4, visionHeads: 2, mlpRatio: 4,
                    textWidth: 128, textDepth: 2, textHeads: 2, embedDim: 64, initialTemperature: 0.07}
            data: {syntheticCount: 4096, imageSize: 64, contextLength: 32, vocabularySize: 4096, augment: true,
                   textAugment: subset, sentenceKeep: 0.75, workers: 2}
            train: {globalBatch: 64, steps: 800, optimizer: adamw, learningRate: 5.0e-4, weightDecay: 0.1, beta1: 0.9,
                    beta2: 0.98, eps: 1.0e-6, warmupSteps: 50, clipGradNorm: 1.0, checkpointEvery: 0}
            eval: {zeroShot: false, linearProbe: false, retrieval: false, compareUntrained: false}
            """
        try clip.write(toFile: dir + "/clip.yaml", atomically: true, encoding: .utf8)
        try train(dir + "/clip.yaml", dir + "/clip", ranks: 1)
        let yaml = """
            method: pspg
            seed: 1
            model: {clipFrom: \(dir)/clip, promptLength: 16, decoderHidden: 256, decoderHeads: 8, dropout: 0.2,
                    spatialFusion: false, loss: ranking, aslWeight: 0.1, rankWeight: 0.07}
            data: {syntheticCount: 4096, imageSize: 64, holdOutClasses: [Atelectasis, Edema], augment: true, augmentChoose: 2,
                   horizontalFlip: 0.5, workers: 2}
            train: {globalBatch: 64, epochs: 6, optimizer: adamw, learningRate: 1.0e-3, weightDecay: 0.05, schedule: cosine,
                    warmupEpochs: 0.5, clipGradNorm: 1.0, checkpointEvery: 0}
            eval: {batch: 64, linearProbe: false, retrieval: false, bootstrap: 0,
                   zeroShotPositive: "Findings suggesting {}.", zeroShotNegative: "No evidence of {}."}
            """
        try yaml.write(toFile: dir + "/pspg.yaml", atomically: true, encoding: .utf8)
        let summary = try train(dir + "/pspg.yaml", dir + "/pspg", ranks: 2)
        let report = try #require(summary.evaluation), untrained = try #require(summary.untrained)
        let learnedRows = try #require(report.section("classifier_seen")).perClass
        let fixedRows = try #require(report.section("zero_shot_seen")).perClass
        let shared = fixedRows.map(\.name).filter { name in learnedRows.contains { $0.name == name } }
        #expect(shared.count == 6 && !shared.contains("No Finding"), "\(shared)")
        func meanAUC(_ rows: [EvaluationReport.ClassRow]) -> Double {
            shared.map { name in rows.first { $0.name == name }?.auc ?? 0 }.reduce(0, +) / Double(shared.count)
        }
        let learned = meanAUC(learnedRows), fixed = meanAUC(fixedRows)
        #expect(learned > fixed + 0.04, "learned prompts \(learned), fixed prompt pairs \(fixed) over \(shared)")
        // Training is what got it there: the prompts the untrained decoder writes score far lower.
        let before = try #require(untrained.values["classifier_seen/macro_auc"]), after = try #require(report.values["classifier_seen/macro_auc"])
        #expect(after > before + 0.1, "trained \(after), untrained \(before)")
        // The held-out findings are scored from their names alone.
        #expect(report.section("classifier_unseen")?.perClass.map(\.name) == ["Atelectasis", "Edema"])
    }

    @Test func badClipFromStopsAtStartUp() throws {
        let dir = try temporaryDirectory()
        let clip = try clipRun(dir, steps: 1)
        func startUpError(_ config: String) -> String {
            do {
                try train(config, dir + "/run-\(UUID().uuidString.prefix(6))", ranks: 1)
                return "no error"
            } catch { return "\(error)" }
        }
        let missing = startUpError(try pspgConfig(dir, clipFrom: dir + "/nowhere"))
        #expect(missing.contains("model.clipFrom") && missing.contains("nowhere"), "\(missing)")
        let otherSize = startUpError(try pspgConfig(dir, clipFrom: clip, imageSize: 32))
        #expect(otherSize.contains("64-px") && otherSize.contains("data.imageSize is 32"), "\(otherSize)")
        let otherSizes = startUpError(try pspgConfig(dir, clipFrom: clip, extraModel: "  clip:\n    embedDim: 16"))
        #expect(otherSizes.contains("model.clip differs") && otherSizes.contains("embedDim"), "\(otherSizes)")
        // A damaged checkpoint: one byte of the tensor data flipped.
        let damaged = dir + "/damaged.ckpt"
        let file = try CheckpointStore.resolve(clip)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        bytes[bytes.count - 10] ^= 0xff
        try bytes.write(to: URL(fileURLWithPath: damaged))
        let broken = startUpError(try pspgConfig(dir, clipFrom: damaged))
        #expect(broken.contains("damaged.ckpt"), "\(broken)")
        // A run of another method has no text tower.
        let fineTune = """
            method: finetune
            seed: 3
            model:
              encoder: {patchSize: 8, visionWidth: 16, visionDepth: 1, visionHeads: 2}
            data: {syntheticCount: 120, imageSize: 64, workers: 1}
            train: {globalBatch: 8, steps: 1, checkpointEvery: 0}
            eval: {linearProbe: false, compareUntrained: false, maxSamples: 8}
            """
        try fineTune.write(toFile: dir + "/ft.yaml", atomically: true, encoding: .utf8)
        try train(dir + "/ft.yaml", dir + "/ft", ranks: 1)
        let notCLIP = startUpError(try pspgConfig(dir, clipFrom: dir + "/ft"))
        #expect(notCLIP.contains("'finetune' run") && notCLIP.contains("no text tower"), "\(notCLIP)")
        // A class name the CLIP's vocabulary cannot spell.
        let vocabulary = try WordPieceTokenizer(vocabulary: WordPieceTokenizer.specialTokens + ["cardiomegaly", "no"])
        var settings = PromptLearningConfig()
        (settings.clip.imageSize, settings.clip.patchSize, settings.clip.visionWidth, settings.clip.visionDepth, settings.clip.visionHeads) = (16, 4, 8, 1, 2)
        (settings.clip.textWidth, settings.clip.textDepth, settings.clip.textHeads, settings.clip.embedDim, settings.clip.vocabSize) = (8, 1, 2, 4, 7)
        #expect(throws: ConfigError.self) {
            try PromptLearningMethod(kind: .pspg, config: settings, classNames: ["Cardiomegaly", "Zzyzx"], tokenizer: vocabulary, seed: 1)
        }
        _ = try PromptLearningMethod(kind: .pspg, config: settings, classNames: ["Cardiomegaly"], tokenizer: vocabulary, seed: 1)
    }
}
