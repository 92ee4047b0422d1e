// The method interface, exercised by a method that exists only in this test file: registered at run time,
// it trains in two stages (the first freezing part of the model by config), has a part it freezes for
// good (with BatchNorm), a parameter group at 5x the learning rate, an unused branch, per-sample
// randomness from the step context and a batch-coupled term; it checkpoints, resumes mid-stage
// bit-identically, is evaluated by its capabilities and passes the data-parallel equivalence check —
// with nothing outside this file knowing it exists.
import Foundation
import Testing
import CarinaCheckpoint
import CarinaData
import CarinaDist
import CarinaModels
import CarinaNN
import CarinaTrain

struct ToyConfig: Codable, Equatable {
    var width = 12
    /// A deliberate data-parallel bug: the batch-coupled term over the local batch instead of the global one.
    var localCoupling = false
}

final class ToyNet: Module {
    let stem: Linear  // (H·W) -> width, frozen by the method
    let stemNorm: BatchNorm
    let encoder: Linear  // frozen by the config's first stage
    let norm: BatchNorm  // trains: batch statistics over the global batch
    let head: Linear  // width -> C, 5x the learning rate
    let unused: Linear  // never reaches the loss

    init(pixels: Int, width: Int, classes: Int, seed: UInt64) {
        var rng = RNG(seed: seed, "init.toy")
        stem = Linear(pixels, width, rng: &rng)
        stemNorm = BatchNorm(width)
        encoder = Linear(width, width, rng: &rng)
        norm = BatchNorm(width)
        head = Linear(width, classes, rng: &rng)
        unused = Linear(width, width, rng: &rng)
    }

    /// images (B, 1, H, W) -> features (B, width)
    func features(_ images: Tensor) throws -> Tensor {
        let b = images.shape[0]
        let h = try stemNorm(stem(images.reshaped([b, images.count / Swift.max(b, 1)]))).relu()
        return try norm(encoder(h)).tanh()
    }
}

final class ToyMethod: TrainingMethod, EmbedsImages, ScoresImageClasses {
    let net: ToyNet
    let classNames: [String]
    let config: ToyConfig
    var model: Module { net }
    var stageNames: [String]? { ["warmup", "main"] }
    private(set) var stagesSeen: [StageInfo] = []

    init(config: ToyConfig, context: MethodContext) {
        net = ToyNet(pixels: context.imageSize * context.imageSize, width: config.width, classes: context.classNames.count, seed: context.seed)
        classNames = context.classNames
        self.config = config
        net.stem.freeze()
        net.stemNorm.freeze()
    }

    func parameterGroup(_ parameter: NamedParameter) -> ParameterGroup {
        ParameterGroup(learningRateScale: parameter.name.hasPrefix("head.") ? 5 : 1, decays: parameter.decays)
    }

    func stageStarted(_ stage: StageInfo) throws { stagesSeen.append(stage) }

    func loss(_ batch: Batch, context: StepContext) throws -> (loss: Tensor, metrics: [String: Float]) {
        var h = try net.features(batch.images)  // (b, W)
        // Dropout keyed by (seed, step, sample): the same on any world size.
        let w = h.shape[1]
        var keep: [Float] = []
        for index in batch.indices {
            var rng = RNG(seed: context.seed, "toy.dropout", context.step, index)
            keep += (0..<w).map { _ in rng.uniform() < 0.8 ? 1 / 0.8 : 0 }
        }
        h = try h * Tensor(shape: h.shape, values: keep)
        let known = try context.globalSum(batch.labelMask.scalars.reduce(0, +))
        let targets = Tensor(shape: batch.labels.shape, values: batch.labels.scalars.map { $0 == 1 ? 1 : 0 })
        let bce = try net.head(h).binaryCrossEntropyWithLogits(targets: targets, weight: batch.labelMask, reduction: .sum) / Swift.max(known, 1)
        // A batch-coupled term: the squared mean feature of the global batch (gathered with gradient).
        let all = config.localCoupling ? h : try context.communicator.allGatherWithGradient(h)
        let coupled = try all.mean(axis: 0).square().sum() * (0.1 / Float(context.communicator.size))
        return (try bce + coupled, ["known_labels": known])
    }

    func imageFeatures(_ images: Tensor) throws -> Tensor { try net.features(images) }
    var scorableClasses: [String]? { classNames }
    func classLogits(_ batch: Batch, classes: [String], context: EvaluationContext) throws -> Tensor {
        try net.head(net.features(batch.images)).indexSelect(axis: 1, classes.map { classNames.firstIndex(of: $0)! })
    }

    static let registration = MethodRegistration(name: "toy", summary: "a method defined in a test", testModel: #"{"width": 6}"#) { section, context in
        ToyMethod(config: try section.decode(ToyConfig.self, defaults: ToyConfig()), context: context)
    }
}

let toyRunConfig = """
    method: toy
    seed: 5
    model:
      width: 12
    data:
      syntheticCount: 90
      imageSize: 16
      workers: 1
      prefetch: 2
    train:
      globalBatch: 8
      weightDecay: 0.1
      checkpointEvery: 2
      logEvery: 100
      stages:
        - {name: warmup, steps: 3, freeze: [encoder], optimizer: sgd, learningRate: 0.05, nesterov: true, schedule: constant, warmupSteps: 0}
        - {name: main, steps: 4, learningRate: 0.01, warmupSteps: 1}
    eval:
      maxSamples: 24
      probeFractions: [1]
      bootstrap: 50
      every: 4
      select: classifier/macro_auc
    """

func toyRun(_ ranks: Int, dir: String, stopAt: Int? = nil) throws -> TrainingRun.Summary {
    MethodRegistry.register(ToyMethod.registration)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try toyRunConfig.write(toFile: dir + "/toy.yaml", atomically: true, encoding: .utf8)
    return try LocalWorld.run(size: ranks) { comm in
        let r = try TrainingRun(configPath: dir + "/toy.yaml", runDirectory: dir + "/run", communicator: comm) { _ in }
        r.stopCheck = { step in stopAt.map { step >= $0 ? SIGUSR1 : nil } ?? nil }
        return try r.run(resume: .auto)
    }[0]
}

@Suite(.serialized) struct MethodInterfaceTests {
    func fresh() -> String { NSTemporaryDirectory() + "carina-toy-\(UUID().uuidString)" }

    @Test func aMethodDefinedInATestTrainsInStagesAndResumesMidStageBitIdentically() throws {
        let whole = fresh()
        let full = try toyRun(1, dir: whole)
        #expect(full.steps == 7 && full.outcome == .finished)
        let reference = try #require(try CheckpointStore(directory: whole + "/run/checkpoints").latestValid()).contents
        #expect(reference.state.stage == 1 && reference.state.stageName == "main")
        // Stopped inside the first stage, then inside the second, resumed each time (2 ranks, then 1).
        let pieces = fresh()
        #expect(try toyRun(2, dir: pieces, stopAt: 1).steps == 1)
        #expect(try toyRun(1, dir: pieces, stopAt: 5).steps == 5)
        let resumed = try toyRun(1, dir: pieces)
        #expect(resumed.resumedFrom?.hasSuffix("step-00000005.ckpt") == true && resumed.steps == 7)
        let last = try #require(try CheckpointStore(directory: pieces + "/run/checkpoints").latestValid()).contents
        // Steps 1..5 ran on 2 then 1 rank: equal to float tolerance, then bit-exact from the resume at 5.
        var worst: Float = 0
        for (p, q) in zip(reference.model, last.model) {
            #expect(p.name == q.name)
            for (u, v) in zip(p.tensor.scalars, q.tensor.scalars) { worst = max(worst, abs(u - v)) }
        }
        #expect(worst < 1e-3, "largest parameter difference \(worst)")
        #expect(reference.optimizer.map(\.name) == last.optimizer.map(\.name))
    }

    @Test func resumingOnTheSameWorldSizeIsBitIdenticalInEitherStage() throws {
        let whole = fresh(), pieces = fresh()
        _ = try toyRun(1, dir: whole)
        #expect(try toyRun(1, dir: pieces, stopAt: 2).steps == 2)
        #expect(try toyRun(1, dir: pieces, stopAt: 5).steps == 5)
        _ = try toyRun(1, dir: pieces)
        let x = try #require(try CheckpointStore(directory: whole + "/run/checkpoints").latestValid()).contents
        let y = try #require(try CheckpointStore(directory: pieces + "/run/checkpoints").latestValid()).contents
        for (p, q) in zip(x.model + x.optimizer, y.model + y.optimizer) {
            #expect(p.name == q.name && p.tensor.scalars == q.tensor.scalars, "\(p.name) differs")
        }
    }

    @Test func frozenPartsStayFrozenUnusedOnesUntouchedAndGroupsScaleTheRate() throws {
        let dir = fresh()
        _ = try toyRun(2, dir: dir)
        let start = ToyMethod(config: ToyConfig(), context: MethodContext(seed: 5, imageSize: 16, contextLength: 64, vocabularySize: 10,
                                                                         classNames: PhantomFindings.classNames))
        let initial = Dictionary(uniqueKeysWithValues: start.model.namedState.map { ($0.name, $0.tensor.scalars) })
        let trained = try #require(try CheckpointStore(directory: dir + "/run/checkpoints").latestValid()).contents
        let final = Dictionary(uniqueKeysWithValues: trained.model.map { ($0.name, $0.tensor.scalars) })
        // Frozen for good: weights and BatchNorm running statistics as initialised (eval mode throughout).
        for name in ["stem.weight", "stem.bias", "stemNorm.weight", "stemNorm.runningMean", "stemNorm.runningVar"] {
            #expect(final[name] == initial[name], "\(name) changed")
        }
        // The unused branch: no update, no weight decay, no optimizer state.
        #expect(final["unused.weight"] == initial["unused.weight"] && final["unused.bias"] == initial["unused.bias"])
        let moments = Dictionary(uniqueKeysWithValues: trained.optimizer.map { ($0.name, $0.tensor.scalars) })
        #expect(moments["exp_avg.unused.weight"]!.allSatisfy { $0 == 0 })
        // The trainable BatchNorm did update its statistics; the head trained.
        #expect(final["norm.runningMean"] != initial["norm.runningMean"] && final["head.weight"] != initial["head.weight"])

        // The groups reach the optimizer, and the first stage freezes the encoder.
        MethodRegistry.register(ToyMethod.registration)
        try toyRunConfig.write(toFile: dir + "/toy.yaml", atomically: true, encoding: .utf8)
        let file = try RunConfigFile(path: dir + "/toy.yaml")
        let method = try file.buildMethod(classNames: PhantomFindings.classNames, vocabularySize: 10).method
        let trainer = try Trainer(config: file.run, method: method, communicator: LocalWorld(size: 1).communicators()[0], runDirectory: nil,
                                  plan: TrainingPlan(file.run, batchesPerEpoch: 10, method: method)) { _ in }
        #expect(trainer.optimizer is SGD && trainer.stageIndex == 0)
        #expect(Set(trainer.optimizer.parameters.map(\.name)) == ["norm.weight", "norm.bias", "head.weight", "head.bias", "unused.weight", "unused.bias"])
        #expect(trainer.optimizer.parameters.filter { $0.learningRateScale == 5 }.map(\.name) == ["head.weight", "head.bias"])
        #expect(!method.model.module(at: "encoder")!.isTraining && method.model.module(at: "norm")!.isTraining)
        #expect((method as! ToyMethod).stagesSeen.map(\.name) == ["warmup"])
    }

    @Test func theMethodIsEvaluatedByItsCapabilitiesAndTheBestCheckpointIsKept() throws {
        let dir = fresh()
        let summary = try toyRun(1, dir: dir)
        let report = try #require(summary.evaluation)
        #expect(report.section("classifier")?.perClass.map(\.name) == PhantomFindings.classNames)
        #expect(report.section("probe_100pct") != nil && report.section("zero_shot") == nil && report.section("retrieval") == nil)
        #expect(report.values["classifier/macro_auc_ci_low"] != nil)
        #expect(summary.untrained?.section("classifier") != nil)
        // eval.every 4 evaluated at step 4 as well as at the end; `best` names one of those two checkpoints.
        let evals = try MetricsLog.read(dir + "/run/metrics.jsonl").filter { $0.kind == "eval" }
        #expect(evals.map(\.step) == [4, 7])
        let best = try #require(summary.best)
        #expect(best.hasSuffix("step-00000004.ckpt") || best.hasSuffix("step-00000007.ckpt"))
        let bestValue = evals.map { $0.values["classifier/macro_auc"]! }.max()!
        #expect(evals.first { best.hasSuffix(CheckpointStore.fileName(step: $0.step)) }!.values["classifier/macro_auc"] == bestValue)
        #expect(FileManager.default.fileExists(atPath: best))
    }

    @Test(arguments: [(2, 0), (4, 0), (2, 1), (4, 1)]) func theMethodPassesTheEquivalenceCheckInEveryStage(_ ranks: Int, _ stage: Int) throws {
        var configured = EquivalenceCheck(ToyMethod.registration)
        configured.stages = try RunConfigFile(yaml: toyRunConfig, source: "toy.yaml").run.train.stages
        configured.stage = stage
        let check = configured
        let outcomes = try LocalWorld.run(size: ranks) { comm in try check.run(comm) }
        for o in outcomes { #expect(o.passes(), "loss \(o.loss) vs \(o.referenceLoss); \(o.worstParameter) off by \(o.worstGradient)") }
        // The encoder trains only in the second stage; the frozen stem never.
        #expect(outcomes[0].gradients.keys.contains("encoder.weight") == (stage == 1))
        #expect(!outcomes[0].gradients.keys.contains("stem.weight"))
    }

    /// The check can fail: a batch-coupled term over the local batch (the all-gather forgotten) is caught on
    /// 2 and 4 ranks, in the loss and in the gradients of the parameters it reaches.
    @Test(arguments: [2, 4]) func theEquivalenceCheckCatchesALocalBatchCoupledTerm(_ ranks: Int) throws {
        var configured = EquivalenceCheck(ToyMethod.registration)
        configured.model = #"{"width": 6, "localCoupling": true}"#
        let check = configured
        let outcomes = try LocalWorld.run(size: ranks) { comm in try check.run(comm) }
        for o in outcomes {
            #expect(!o.passes() && o.lossDifference > 1e-3 && o.worstGradient > 1e-3 && o.worstParameter.hasPrefix("norm."),
                    "loss \(o.lossDifference), \(o.worstParameter) off by \(o.worstGradient)")
        }
    }
}
