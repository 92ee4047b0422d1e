// Evaluation by capability, distributed: global evaluation batches in the split's order, every sample
// counted once, and 2 or 3 ranks give the 1-rank numbers — also for a method whose scores depend on the
// rest of its batch (PsPG's prompts do).
import Testing
import CarinaData
import CarinaDist
import CarinaEval
import CarinaModels
import CarinaNN
import CarinaTrain

/// Scores each image by how far its mean pixel lies from the mean of its global evaluation batch
/// (gathered from every rank): only right when every world size sees the same batches.
final class BatchRelativeScorer: TrainingMethod, ScoresImageClasses {
    let model: Module = { var rng = RNG(seed: 1); return Linear(1, 1, rng: &rng) }()
    let classNames: [String]
    init(classNames: [String]) { self.classNames = classNames }
    func loss(_ batch: Batch, context: StepContext) throws -> (loss: Tensor, metrics: [String: Float]) {
        throw TrainingError("BatchRelativeScorer is only evaluated")
    }
    var scorableClasses: [String]? { classNames }
    var scoresCoupleBatch: Bool { true }
    func classLogits(_ batch: Batch, classes: [String], context: EvaluationContext) throws -> Tensor {
        let b = batch.count, pixels = b == 0 ? 0 : batch.images.count / b
        let means = (0..<b).map { i in batch.images.scalars[(i * pixels)..<((i + 1) * pixels)].reduce(0, +) / Float(pixels) }
        let all = try context.communicator.allGatherVariable(means).values
        guard all.count == context.globalBatch else { throw TrainingError("gathered \(all.count) rows of a global batch of \(context.globalBatch)") }
        let centre = all.reduce(0, +) / Float(max(all.count, 1))
        return Tensor(shape: [b, classes.count], values: means.flatMap { m in classes.indices.map { Float($0 + 1) * (m - centre) } })
    }
}

/// Embeds an image as (0.2 + mean pixel / 10⁴, 0) and a prompt as (1, 0), or (0, 0) when it holds "no", with
/// scale 100: zero-shot logits of 20 + mean / 100.
final class MarginEmbedder: TrainingMethod, EmbedsImagesAndTexts {
    let model: Module = { var rng = RNG(seed: 1); return Linear(1, 1, rng: &rng) }()
    let negativeToken: Int32
    init(negativeToken: Int32) { self.negativeToken = negativeToken }
    func loss(_ batch: Batch, context: StepContext) throws -> (loss: Tensor, metrics: [String: Float]) {
        throw TrainingError("MarginEmbedder is only evaluated")
    }
    func imageFeatures(_ images: Tensor) throws -> Tensor { try imageEmbeddings(images) }
    func imageEmbeddings(_ images: Tensor) throws -> Tensor {
        let b = images.shape[0], pixels = images.count / max(b, 1), x = images.scalars
        var rows: [Float] = []
        for i in 0..<b {
            let mean: Float = x[(i * pixels)..<((i + 1) * pixels)].reduce(0, +) / Float(pixels)
            rows += [0.2 + mean / 10_000, 0]
        }
        return Tensor(shape: [b, 2], values: rows)
    }
    func textEmbeddings(_ text: TextBatch) throws -> Tensor {
        let ids = text.ids, (b, t) = (ids.shape[0], ids.shape[1])
        return Tensor(shape: [b, 2], values: (0..<b).flatMap { i in ids.values[(i * t)..<((i + 1) * t)].contains(negativeToken) ? [0, 0] : [1, 0] })
    }
    var similarityScale: Float { 100 }
}

@Suite struct EvaluationTests {
    static let source = SyntheticCXR(count: 60, seed: 4, imageSize: 8)
    static let tokenizer = try! WordPieceTokenizer(vocabulary: VocabularyBuilder.build(corpus: (0..<60).map { source.report(at: $0) }, size: 200))

    func evaluate(size: Int, batch: Int = 8, _ make: @escaping @Sendable () -> TrainingMethod) throws -> EvaluationReport {
        try LocalWorld.run(size: size) { comm -> EvaluationReport in
            var settings = EvaluationSettings()
            (settings.probeFractions, settings.bootstrap, settings.batch, settings.seed) = ([0.5, 1], 40, batch, 3)
            let evaluation = MethodEvaluation(settings: settings, tokenizer: Self.tokenizer, contextLength: 6,
                                              transform: ImageTransform(size: 8, train: false), workers: 1, communicator: comm)
            // 21 samples: uneven batches and shares.
            let set = EvaluationSet(source: Self.source, indices: Array(30..<51), name: "held-out phantoms")
            let probe = EvaluationSet(source: Self.source, indices: Array(0..<30), name: "training phantoms")
            return try evaluation.run(make(), on: set, probe: probe)
        }[0]
    }

    static func clip() -> TrainingMethod {
        var config = CLIPConfig.test
        config.vocabSize = tokenizer.vocabularySize
        return CLIPMethod(config: config, seed: 3)
    }

    @Test func twoAndThreeRanksEvaluateLikeOne() throws {
        let one = try evaluate(size: 1, Self.clip)
        #expect(one.samples == 21)
        #expect(one.sections.map(\.key) == ["zero_shot", "probe_50pct", "probe_100pct", "retrieval"])
        for size in [2, 3] {
            let other = try evaluate(size: size, Self.clip)
            for (key, value) in one.values {
                let v = other.values[key]!
                #expect(value.isNaN ? v.isNaN : abs(value - v) < 1e-5, "\(size) ranks, \(key): \(value) vs \(v)")
            }
        }
    }

    @Test func aBatchCoupledScorerSeesTheSameBatchesOnAnyWorldSize() throws {
        let names = Self.source.classNames
        let one = try evaluate(size: 1, batch: 8) { BatchRelativeScorer(classNames: names) }
        #expect(one.sections.map(\.key) == ["classifier"])
        for size in [2, 3] {
            let other = try evaluate(size: size, batch: 8) { BatchRelativeScorer(classNames: names) }
            for (key, value) in one.values {
                let v = other.values[key]!
                #expect(value.isNaN ? v.isNaN : abs(value - v) < 1e-9, "\(size) ranks, \(key): \(value) vs \(v)")
            }
        }
        // Other batches give other scores: the test would notice batches that depend on the world size.
        let larger = try evaluate(size: 1, batch: 21) { BatchRelativeScorer(classNames: names) }
        #expect(larger.values != one.values)
    }

    @Test func theTableShowsWhatWasComputedWithIntervalsAndTheSplitsName() throws {
        let report = try evaluate(size: 1, Self.clip)
        let table = EvaluationTable.render(report, untrained: report)
        #expect(table.hasPrefix("evaluation on held-out phantoms (21 samples)"), "\(table)")
        for expected in ["zero-shot macro AUC", "linear probe 50 % macro AUC", "retrieval image->report R@1/5/10", "AUC per finding",
                         "linear probe 100 %", "Cardiomegaly", "untrained (same init)"] {
            #expect(table.contains(expected), "missing '\(expected)' in\n\(table)")
        }
        #expect(table.range(of: #"macro AUC\s+\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]"#, options: .regularExpression) != nil, "\(table)")
    }

    @Test func zeroShotRanksByLogitsSoSaturatedProbabilitiesDoNotTie() throws {
        // Every image's zero-shot logit is 20 + a little (its mean pixel / 100): all sigmoids are exactly 1.0
        // in Float32, so ranking by probabilities would tie everything (AUC 0.5).
        let noID = try #require(Self.tokenizer.id(of: "no"))
        let report = try evaluate(size: 1) { MarginEmbedder(negativeToken: noID) }
        let section = try #require(report.section("zero_shot"))
        let source = Self.source
        let transform = ImageTransform(size: 8, train: false)
        var means: [Float] = [], labels: [[Float]] = []
        for i in 30..<51 {
            let s = try source.sample(at: i)
            var pixels = [Float](repeating: 0, count: 64)
            pixels.withUnsafeMutableBufferPointer { transform.apply(s.image, seed: 3, epoch: 0, sampleIndex: i, into: $0.baseAddress!) }
            means.append(pixels.reduce(0, +) / 64)
            labels.append(source.classNames.map { s.labels[$0] ?? -1 })
        }
        for row in section.perClass {
            let j = source.classNames.firstIndex(of: row.name)!
            let known = (0..<21).filter { labels[$0][j] == 0 || labels[$0][j] == 1 }
            let expected = BinaryMetrics.rocAUC(scores: known.map { 20 + means[$0] / 100 }, labels: known.map { labels[$0][j] == 1 })
            #expect(row.auc == expected, "\(row.name): \(String(describing: row.auc)) vs \(String(describing: expected))")
        }
        #expect(section.perClass.contains { $0.auc != nil && $0.auc != 0.5 })
    }
}
