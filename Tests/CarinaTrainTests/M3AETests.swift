// M3AE (method m3ae): the ITM pairing over the global batch, the MAE decoder's unshuffling and fixed
// sin-cos positions, the pixel targets, the parameter groups, config checks, and a tiny run that learns.
// The data-parallel equivalence (2 and 4 ranks, mpirun -np 2) runs for every registered method in
// DataParallelTests and the selftest.
import Foundation
import Testing
import CarinaData
import CarinaDist
import CarinaModels
import CarinaNN
import CarinaTestSupport
@testable import CarinaTrain

@Suite struct M3AETests {
    @Test func matchingPairsHalfPositivesAndNegativesNeverTheirOwnImage() throws {
        for g in 1...12 {
            for step in 0..<20 {
                let (partner, positive) = M3AEMethod.matchingPairs(globalBatch: g, seed: 7, step: step)
                #expect(positive.filter { $0 }.count == g / 2)
                for i in 0..<g {
                    #expect((0..<g).contains(partner[i]))
                    #expect((partner[i] == i) == positive[i] || g == 1, "g \(g) step \(step): row \(i)")
                }
                let again = M3AEMethod.matchingPairs(globalBatch: g, seed: 7, step: step)
                #expect(again.partner == partner && again.positive == positive)
            }
        }
        // Negatives draw every other row: over many steps each partner of row 0 of 4 appears.
        var seen = Set<Int>()
        for step in 0..<200 {
            let (partner, positive) = M3AEMethod.matchingPairs(globalBatch: 4, seed: 1, step: step)
            if !positive[0] { seen.insert(partner[0]) }
        }
        #expect(seen == [1, 2, 3])
    }

    @Test func coAttentionLayerGradientsWithDropoutAgainstFiniteDifferences() throws {
        var rng = RNG(seed: 4, "test")
        let layer = CoAttentionLayer(width: 8, heads: 2, mlpRatio: 2, dropout: 0.2, attentionDropout: 0.2, rng: &rng)
        let x = randomTensor([2, 3, 8], stream: 1), other = randomTensor([2, 4, 8], stream: 2)
        let padding = Tensor(shape: [2, 3], values: [1, 1, 0, 1, 1, 1])
        let keys = FusionDropoutKeys(seed: 9, step: 3, pass: 1, firstRow: 2, training: true)
        try checkGradients([x, other, layer.selfAttention.qkv.weight, layer.crossAttention.key.weight, layer.crossAttention.value.bias!,
                            layer.mlp.fc1.weight, layer.norm2.weight, layer.norm3.bias]) { t in
            try layer(t[0], padding: padding, other: t[1], otherPadding: nil, keys: keys, site: 0)
        }
        // Without dropout it is METER's post-LN layer composed by hand: LN(x + SA(x)), LN(h + CA(h, other)), LN(h + FFN(h)).
        let plain = try layer(x, padding: padding, other: other, otherPadding: nil, keys: FusionDropoutKeys(seed: 9, step: 3, pass: 1, firstRow: 2, training: false), site: 0)
        func ln(_ t: Tensor, _ norm: LayerNorm) throws -> Tensor {  // (t − mean) / sqrt(var + eps) · γ + β over the last axis
            let mean = try t.mean(axis: -1, keepDims: true), centred = try t - mean
            let variance = try centred.square().mean(axis: -1, keepDims: true)
            return try centred / (variance + 1e-12).sqrt() * norm.weight + norm.bias
        }
        let sa = layer.selfAttention, ca = layer.crossAttention
        let qkv = try sa.qkv(x)
        let attended = try sa.proj(Tensor.attention(q: qkv.slice(axis: 2, 0, 8), k: qkv.slice(axis: 2, 8, 16), v: qkv.slice(axis: 2, 16, 24), heads: 2, keyPadding: padding))
        var h = try ln(x + attended, layer.norm1)
        h = try ln(h + ca.proj(Tensor.attention(q: ca.query(h), k: ca.key(other), v: ca.value(other), heads: 2)), layer.norm2)
        let composed = try ln(h + layer.mlp.fc2(layer.mlp.fc1(h).gelu()), layer.norm3)
        #expect(zip(plain.scalars, composed.scalars).allSatisfy { abs($0 - $1) < 1e-4 })
        // The masks are keyed: the same keys give the same output, another step another; no dropout in evaluation.
        let a = try layer(x, padding: padding, other: other, otherPadding: nil, keys: keys, site: 0).scalars
        #expect(try layer(x, padding: padding, other: other, otherPadding: nil, keys: keys, site: 0).scalars == a)
        let next = FusionDropoutKeys(seed: 9, step: 4, pass: 1, firstRow: 2, training: true)
        #expect(try layer(x, padding: padding, other: other, otherPadding: nil, keys: next, site: 0).scalars != a)
        let evaluation = FusionDropoutKeys(seed: 9, step: 3, pass: 1, firstRow: 2, training: false)
        #expect(try layer(x, padding: padding, other: other, otherPadding: nil, keys: evaluation, site: 0).scalars != a)
    }

    @Test func sinCosPositionsAreMAEs() {
        // width 8: quarter 2, ω = [1, 1/100]; the first half encodes the column, the second the row.
        let p = MIMDecoder.sinCosPositions(width: 8, grid: 2)
        #expect(p.count == 4 * 8)
        let rowOneColumnZero = Array(p[(2 * 8)..<(3 * 8)])
        let expected: [Float] = [0, 0, 1, 1, Float(sin(1.0)), Float(sin(0.01)), Float(cos(1.0)), Float(cos(0.01))]
        for (a, b) in zip(rowOneColumnZero, expected) { #expect(abs(a - b) < 1e-6) }
        let rowZeroColumnOne = Array(p[8..<16])
        #expect(abs(rowZeroColumnOne[0] - Float(sin(1.0))) < 1e-6 && rowZeroColumnOne[4] == 0 && rowZeroColumnOne[6] == 1)
    }

    @Test func decoderPutsVisibleTokensAndMaskTokensBackInRasterOrder() throws {
        // No blocks: each output position is head(LN(embed(its token) + position)), so the order is visible.
        var rng = RNG(seed: 3, "test")
        let decoder = MIMDecoder(inputWidth: 6, width: 8, depth: 0, heads: 2, mlpRatio: 2, grid: 2, patchPixels: 3, rng: &rng)
        let keep = [[1, 3], [0, 2]]
        let tokens = Tensor.normal([2, 3, 6], rng: &rng)
        let out = try decoder(tokens, keep: keep)  // (2, 4, 3)
        #expect(out.shape == [2, 4, 3])
        let positions = MIMDecoder.sinCosPositions(width: 8, grid: 2)
        for s in 0..<2 {
            for i in 0..<4 {
                let input: Tensor
                if let j = keep[s].firstIndex(of: i) {
                    input = try decoder.embed(tokens.slice(axis: 0, s, s + 1).slice(axis: 1, 1 + j, 2 + j).reshaped([1, 6]))
                } else {
                    input = try decoder.maskToken.reshaped([1, 8])
                }
                let expected = try decoder.pixelHead(decoder.blocks.norm!(input + Tensor(shape: [1, 8], values: Array(positions[(i * 8)..<(i * 8 + 8)]))))
                let got = try out.slice(axis: 0, s, s + 1).slice(axis: 1, i, i + 1).reshaped([1, 3])
                for (a, b) in zip(got.scalars, expected.scalars) { #expect(abs(a - b) < 1e-5, "sample \(s) patch \(i)") }
            }
        }
        #expect(throws: TensorError.self) { try decoder(tokens, keep: [[1, 1], [0, 2]]) }
    }

    @Test func pixelTargetsArePatchesInRowColumnChannelOrderNormalisedPerPatch() throws {
        var config = M3AEConfig()
        (config.imageSize, config.imageChannels, config.patchSize, config.visionWidth, config.visionDepth, config.visionHeads) = (4, 2, 2, 4, 0, 1)
        (config.textWidth, config.textDepth, config.textHeads, config.fusionWidth, config.fusionLayers, config.fusionHeads) = (4, 0, 1, 4, 1, 1)
        (config.vocabSize, config.contextLength, config.decoderWidth, config.decoderDepth, config.decoderHeads, config.mimLayer) = (8, 4, 4, 0, 1, 1)
        config.normalizePixelTargets = false
        let image = Tensor(shape: [1, 2, 4, 4], values: (0..<32).map(Float.init))  // value = channel·16 + row·4 + column
        let raw = try M3AEModel(config: config, seed: 1).pixelTargets(image)
        #expect(raw.shape == [1, 4, 8])
        // Patch 1 (top right): rows 0–1, columns 2–3; channel fastest.
        #expect(Array(raw.scalars[8..<16]) == [2, 18, 3, 19, 6, 22, 7, 23])
        config.normalizePixelTargets = true
        let normalised = try M3AEModel(config: config, seed: 1).pixelTargets(image)
        for patch in 0..<4 {
            let v = normalised.scalars[(patch * 8)..<(patch * 8 + 8)].map(Double.init)
            let mean = v.reduce(0, +) / 8
            let unbiased = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 7
            #expect(abs(mean) < 1e-5 && abs(unbiased - 1) < 1e-4)
        }
    }

    func build(_ model: String) throws -> M3AEMethod {
        let context = MethodContext(seed: 1, imageSize: 16, contextLength: 16, vocabularySize: 50, classNames: ["A"])
        let values = try #require(try JSONSerialization.jsonObject(with: Data(model.utf8)) as? [String: Any])
        let method = try M3AEMethod.registration.build(ModelSection(values: values, source: "m3ae.yaml"), context)
        return try #require(method as? M3AEMethod)
    }

    @Test func fusionAndHeadsTrainAtTheirFactorsAndVisionNormsDecayOnlyWhenAsked() throws {
        let method = try build(M3AEMethod.registration.testModel)
        let groups = Dictionary(uniqueKeysWithValues: method.model.namedParameters.map { ($0.name, method.parameterGroup($0)) })
        #expect(groups["visual.patchEmbed.weight"] == ParameterGroup(learningRateScale: 1, decays: true))
        #expect(groups["text.encoder.blocks.0.norm1.weight"] == ParameterGroup(learningRateScale: 1, decays: false))
        #expect(groups["textLayers.0.crossAttention.query.weight"] == ParameterGroup(learningRateScale: 5, decays: true))
        #expect(groups["imagePooler.bias"] == ParameterGroup(learningRateScale: 5, decays: false))
        #expect(groups["mimDecoder.pixelHead.weight"] == ParameterGroup(learningRateScale: 5, decays: true))
        #expect(groups["mlmHead.decoder.weight"]?.learningRateScale == 5 && groups["itmHead.weight"]?.learningRateScale == 5)
        #expect(groups["visual.encoder.blocks.0.norm1.weight"]?.decays == false)
        let official = try build(M3AEMethod.registration.testModel.replacingOccurrences(of: "}", with: #", "decayVisionNorms": true}"#))
        let norm = try #require(official.model.namedParameters.first { $0.name == "visual.encoder.blocks.0.norm1.weight" })
        #expect(official.parameterGroup(norm).decays)
    }

    @Test func badSizesAreNamed() throws {
        func error(_ json: String) -> String {
            do { _ = try build(json); return "no error" } catch { return "\(error)" }
        }
        #expect(error(#"{"fusionLayers": 2, "mimLayer": 3, "patchSize": 4}"#).contains("model.mimLayer is 3"))
        #expect(error(#"{"decoderWidth": 6, "decoderHeads": 2, "patchSize": 4}"#).contains("multiple of 4"))
        #expect(error(#"{"patchSize": 16, "maskRatio": 0.99}"#).contains("leaves no visible patch"))
        #expect(error(#"{"patchSize": 4, "imageSize": 32}"#).contains("the data gives 16"))
        // The report encoder's keys are CLIP's, checked the same way.
        #expect(error(#"{"patchSize": 4, "textPooler": true}"#).contains("model.textPooler is for textArchitecture bert or roberta"))
        #expect(error(#"{"patchSize": 4, "textArchitecture": "roberta", "textPositions": 10}"#).contains("model.textPositions is 10"))
        #expect(error(#"{"patchSize": 4, "textArchitecture": "bert", "textTokenTypes": 0}"#).contains("model.textTokenTypes is 0"))
    }

    @Test func aTinyRunLearnsAllThreeObjectives() throws {
        let dir = try makeTemporaryDirectory("m3ae")
        let yaml = """
            method: m3ae
            seed: 2
            model:
              patchSize: 8
              visionWidth: 32
              visionDepth: 1
              visionHeads: 2
              textWidth: 32
              textDepth: 1
              textHeads: 2
              fusionWidth: 32
              fusionLayers: 2
              fusionHeads: 2
              mimLayer: 1
              decoderWidth: 16
              decoderDepth: 1
              decoderHeads: 2
              initStd: 0
            data:
              syntheticCount: 480
              imageSize: 32
              contextLength: 24
              vocabularySize: 200
              workers: 2
            train:
              globalBatch: 16
              steps: 150
              learningRate: 1.0e-3
              warmupSteps: 10
              schedule: linear
              logEvery: 10
              checkpointEvery: 0
            eval:
              zeroShot: false
              probeFractions: [1.0]
              pairRetrievalSamples: 32
              bootstrap: 0
            """
        try yaml.write(toFile: dir + "/m3ae.yaml", atomically: true, encoding: .utf8)
        let summary = try train(dir + "/m3ae.yaml", dir + "/run", ranks: 2)
        let records = try MetricsLog.read(dir + "/run/metrics.jsonl").filter { $0.kind == "train" }
        let (first, last) = (try #require(records.first?.values), try #require(records.last?.values))
        func mean(_ key: String, _ range: ArraySlice<MetricsRecord>) -> Double { range.map { $0.values[key] ?? .nan }.reduce(0, +) / Double(range.count) }
        let early = records.prefix(3), late = records.suffix(3)
        #expect(mean("mlm", late) < mean("mlm", early) - 0.5, "MLM \(first) -> \(last)")
        #expect(mean("mim", late) < mean("mim", early) - 0.05, "MIM \(first) -> \(last)")
        #expect(mean("mlm_accuracy", late) > mean("mlm_accuracy", early) + 0.05, "MLM accuracy \(first) -> \(last)")
        let report = try #require(summary.evaluation)
        #expect(report.section("probe_100pct") != nil && report.section("pair_retrieval") != nil && report.section("retrieval") != nil,
                "\(report.sections.map(\.key))")
        // The objectives on the evaluation split, and the official selection score.
        let objectives = try #require(report.section("objectives"))
        let values = Dictionary(uniqueKeysWithValues: objectives.metrics.compactMap { m in m.value.map { (m.key, $0) } })
        #expect(Set(values.keys) == ["mlm_accuracy", "mlm_loss", "mim_loss", "itm_accuracy", "itm_loss", "score"], "\(values)")
        #expect(abs(values["score"]! - (values["mlm_accuracy"]! + values["itm_accuracy"]! - values["mim_loss"]!)) < 1e-12)
        // On the validation split too, against the same model untrained.
        let before = try #require(summary.untrained?.section("objectives"))
        let start = Dictionary(uniqueKeysWithValues: before.metrics.compactMap { m in m.value.map { (m.key, $0) } })
        #expect(values["mlm_accuracy"]! > start["mlm_accuracy"]! + 0.05 && values["mim_loss"]! < start["mim_loss"]! - 0.05, "\(start) -> \(values)")
    }

    @Test func encodersStartFromACLIPRunWithItsSizesAndVocabulary() throws {
        let dir = try makeTemporaryDirectory("m3ae-init")
        try tinyCLIPRunConfig(steps: 2, checkpointEvery: 0, eval: "  linearProbe: false\n  zeroShot: false\n  retrieval: false\n  compareUntrained: false")
            .write(toFile: dir + "/clip.yaml", atomically: true, encoding: .utf8)
        try train(dir + "/clip.yaml", dir + "/clip", ranks: 1)
        func config(_ extra: String, from source: String = "clip", imageSize: Int = 32) throws -> String {
            let yaml = """
                method: m3ae
                seed: 2
                model:
                  initFrom: \(dir)/\(source)
                  fusionWidth: 8
                  fusionLayers: 1
                  fusionHeads: 2
                  mimLayer: 1
                  decoderWidth: 8
                  decoderDepth: 1
                  decoderHeads: 2
                \(extra)
                data:
                  syntheticCount: 120
                  imageSize: \(imageSize)
                  vocabularySize: 150
                  workers: 1
                train:
                  globalBatch: 8
                  steps: 1
                  learningRate: 1.0e-12
                  warmupSteps: 0
                  checkpointEvery: 0
                eval:
                  zeroShot: false
                  linearProbe: false
                  retrieval: false
                  bootstrap: 0
                  compareUntrained: false
                """
            let path = dir + "/m3ae-\(UUID().uuidString.prefix(6)).yaml"
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        try train(config(""), dir + "/m3ae", ranks: 1)
        let clip = Dictionary(uniqueKeysWithValues: try finalCheckpoint(dir + "/clip").model.map { ($0.name, $0.tensor.scalars) })
        let m3ae = try finalCheckpoint(dir + "/m3ae").model
        let encoders = m3ae.filter { $0.name.hasPrefix("visual.") || $0.name.hasPrefix("text.") }
        #expect(!encoders.isEmpty)
        for (name, tensor) in encoders {
            let start = try #require(clip[name], "\(name) is not in the CLIP run")
            #expect(zip(tensor.scalars, start).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($1)) }, "\(name)")
        }
        // The CLIP's sizes were used; the reports were read with the CLIP's vocabulary (16 tokens, 200 words).
        let resolved = try String(contentsOfFile: dir + "/m3ae/config.yaml", encoding: .utf8)
        #expect(resolved.contains("visionWidth: 16") && resolved.contains("contextLength: 16") && resolved.contains("vocabSize: 200"), "\(resolved)")
        func startUpError(_ extra: String, from source: String = "clip") -> String {
            do { try train(config(extra, from: source), dir + "/failed-" + UUID().uuidString.prefix(6), ranks: 1); return "no error" } catch { return "\(error)" }
        }
        let sizes = startUpError("  visionWidth: 32")
        #expect(sizes.contains("model.visionWidth is 32 but the CLIP run") && sizes.contains("leave it out"), "\(sizes)")
        let tower = startUpError("  preNorm: true")
        #expect(tower.contains("model.patchBias / model.preNorm / model.visionActivation differ from the CLIP run"), "\(tower)")
        let notCLIP = startUpError("", from: "m3ae")
        #expect(notCLIP.contains("is a 'm3ae' run") && notCLIP.contains("CLIP run's encoders"), "\(notCLIP)")
        // At another image size the ViT's positions are resized bicubically to the new grid (4² -> 6²).
        try train(config("", imageSize: 48), dir + "/m3ae-48", ranks: 1)
        let resized = try #require(try finalCheckpoint(dir + "/m3ae-48").model.first { $0.name == "visual.positionEmbedding" }).tensor
        let expected = try ViT.resizePositionEmbedding(Tensor(shape: [17, 16], values: clip["visual.positionEmbedding"]!), toGrid: 6)
        #expect(resized.shape == [37, 16] && zip(resized.scalars, expected.scalars).allSatisfy { abs($0 - $1) <= 1e-5 })
        let missing = startUpError("", from: "nowhere")
        #expect(missing.contains("model.initFrom") && missing.contains("nowhere"), "\(missing)")
    }

    @Test func imageTextMatchingLearnsAToyCorrespondence() throws {
        // Four classes: class c is a 16-px image of uniform brightness c − 1.5, and the one-word report
        // "w<c>". Only ITM trains; matched pairs must come to score above mismatched ones.
        let vocabulary = WordPieceTokenizer.specialTokens + ["w0", "w1", "w2", "w3"]
        let tokenizer = try WordPieceTokenizer(vocabulary: vocabulary)
        let context = MethodContext(seed: 1, imageSize: 16, contextLength: 4, vocabularySize: vocabulary.count, classNames: ["A"], tokenizer: tokenizer)
        let json = #"{"patchSize": 8, "visionWidth": 16, "visionDepth": 1, "visionHeads": 2, "textWidth": 16, "textDepth": 1, "textHeads": 2, "#
            + #""fusionWidth": 16, "fusionLayers": 1, "fusionHeads": 2, "mimLayer": 1, "decoderWidth": 8, "decoderDepth": 1, "decoderHeads": 2, "#
            + #""mlmWeight": 0, "mimWeight": 0, "dropout": 0, "attentionDropout": 0, "initStd": 0}"#
        let values = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let method = try #require(try M3AEMethod.registration.build(ModelSection(values: values, source: "toy"), context) as? M3AEMethod)
        let optimizer = AdamW(method.model.trainableParameters, learningRate: 1e-3)
        let world = LocalWorld(size: 1).communicators()[0]
        func batch(_ step: Int) -> Batch {
            var rng = RNG(seed: 5, "toy", step)
            let classes = (0..<16).map { _ in rng.int(4) }
            var pixels = [Float](repeating: 0, count: 16 * 256)
            for (s, c) in classes.enumerated() {
                for i in 0..<256 { pixels[s * 256 + i] = Float(c) - 1.5 }
            }
            let ids = classes.flatMap { [tokenizer.clsID, Int32(5 + $0), tokenizer.sepID, tokenizer.padID] }
            let padding = Tensor(shape: [16, 4], values: classes.flatMap { _ in [Float(1), 1, 1, 0] })
            let text = TextBatch(ids: IndexTensor(shape: [16, 4], values: ids), padding: padding, maskedIDs: IndexTensor(shape: [16, 4], values: ids),
                                 maskLabels: IndexTensor(shape: [16, 4], values: [Int32](repeating: -100, count: 64)))
            return Batch(epoch: 0, indices: Array(step * 16..<(step + 1) * 16), images: Tensor(shape: [16, 1, 16, 16], values: pixels),
                         reports: [], labels: .zeros([16, 1]), labelMask: .zeros([16, 1]), text: text)
        }
        func stepContext(_ step: Int, training: Bool = true) -> StepContext {
            StepContext(step: step, epoch: 0, stage: StageInfo(index: 0, name: "train", step: step, steps: 400), seed: 1, communicator: world,
                        globalBatch: 16, rowOffset: 0, training: training)
        }
        var accuracy: [Float] = []
        for step in 0..<1000 {
            optimizer.zeroGrad()
            let (loss, metrics) = try method.loss(batch(step), context: stepContext(step))
            try loss.backward()
            try optimizer.step()
            accuracy.append(metrics["itm_accuracy"]!)
        }
        // A held-out batch, evaluation mode.
        let late = accuracy.suffix(100).reduce(0, +) / 100
        let held = try Autograd.withoutGrad { try method.objectives(batch(10_000), context: stepContext(10_000, training: false)) }
        // A negative pairs another row's image, of the same class one time in four: the ceiling is ~0.875.
        // (With the official initial std 0.02 at this width the loss stays at ln 2: fusion initStd 0 = 1/√W.)
        #expect(late > 0.65 && held["itm_loss"]!.sum / held["itm_loss"]!.count < 0.62, "training accuracy \(late), held out \(held)")
    }

    @Test func fineTuningReadsThePretrainedModelAndScoresFindingsFromTheJointFeature() throws {
        let dir = try makeTemporaryDirectory("m3ae-finetune")
        let pretrain = """
            method: m3ae
            seed: 2
            model: {patchSize: 8, visionWidth: 16, visionDepth: 1, visionHeads: 2, textWidth: 16, textDepth: 1, textHeads: 2, fusionWidth: 16, fusionLayers: 1, fusionHeads: 2, mimLayer: 1, decoderWidth: 8, decoderDepth: 1, decoderHeads: 2, initStd: 0}
            data: {syntheticCount: 160, imageSize: 32, contextLength: 24, vocabularySize: 150, workers: 1}
            train: {globalBatch: 8, steps: 3, warmupSteps: 1, checkpointEvery: 0}
            eval: {zeroShot: false, linearProbe: false, retrieval: false, bootstrap: 0, compareUntrained: false}
            """
        try pretrain.write(toFile: dir + "/m3ae.yaml", atomically: true, encoding: .utf8)
        try train(dir + "/m3ae.yaml", dir + "/m3ae", ranks: 1)
        func config(_ text: String, from source: String = "m3ae") throws -> String {
            let yaml = """
                method: m3ae-finetune
                seed: 2
                model: {initFrom: \(dir)/\(source), text: \(text)}
                data: {syntheticCount: 160, imageSize: 32, workers: 1}
                train: {globalBatch: 8, steps: 30, learningRate: 1.0e-3, warmupSteps: 2, logEvery: 5, checkpointEvery: 0}
                eval: {zeroShot: false, retrieval: false, bootstrap: 0, probeFractions: [1.0]}
                """
            let path = dir + "/finetune-\(UUID().uuidString.prefix(6)).yaml"
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let summary = try train(config("none"), dir + "/none", ranks: 2)
        let report = try #require(summary.evaluation), untrained = try #require(summary.untrained)
        #expect(report.section("classifier")?.perClass.count == PhantomFindings.classNames.count)
        #expect(report.section("probe_100pct") != nil)
        // It started from the pre-trained weights (untrained = those weights and a fresh head) and trained.
        let pretrained = Dictionary(uniqueKeysWithValues: try finalCheckpoint(dir + "/m3ae").model.map { ($0.name, $0.tensor.scalars) })
        let tuned = try finalCheckpoint(dir + "/none").model
        #expect(tuned.contains { $0.name == "m3ae.visual.patchEmbed.weight" } && tuned.contains { $0.name == "head.output.weight" })
        // Unused pre-training heads are carried unchanged.
        #expect(tuned.first { $0.name == "m3ae.itmHead.weight" }?.tensor.scalars == pretrained["itmHead.weight"])
        #expect(report.values["classifier/macro_auc"] != untrained.values["classifier/macro_auc"])
        // The report as the text; an M3AE run is required.
        let withReports = try train(config("report"), dir + "/report", ranks: 1)
        #expect(withReports.evaluation?.section("classifier") != nil)
        let wrong: String
        do { try train(config("none", from: "none"), dir + "/wrong", ranks: 1); wrong = "no error" } catch { wrong = "\(error)" }
        #expect(wrong.contains("is a 'm3ae-finetune' run, not an M3AE run"), "\(wrong)")
        let badText: String
        do { try train(config("caption"), dir + "/bad-text", ranks: 1); badText = "no error" } catch { badText = "\(error)" }
        #expect(badText.contains("model.text must be none or report"), "\(badText)")
    }
}
