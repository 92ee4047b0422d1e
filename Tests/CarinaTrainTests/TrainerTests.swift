// The shared training loop: deterministic, equal on 1 and 2 ranks, non-finite losses stop or skip as
// configured, and a stop signal on one rank ends every rank after the same step.
import Foundation
import Testing
import CarinaData
import CarinaDist
import CarinaModels
import CarinaNN
import CarinaTrain

/// A fixed image-report dataset of `count` samples (8x8 images, 6 tokens) served by the distributed sampler.
final class FixedBatches: BatchStream, @unchecked Sendable {
    var sampler: DistributedSampler
    let rank: Int, size: Int
    let images: Tensor, ids: [Int32]
    let t = 6

    init(count: Int, globalBatch: Int, rank: Int, size: Int) throws {
        sampler = try DistributedSampler(datasetSize: count, globalBatch: globalBatch, seed: 5)
        self.rank = rank
        self.size = size
        var rng = RNG(seed: 42, "fixed-batches")
        images = Tensor.normal([count, 1, 8, 8], rng: &rng)
        // The report "names" the image: token 2 + (index mod 5), so the pairs are learnable.
        var tokens: [Int32] = []
        for i in 0..<count {
            let word = Int32(2 + i % 5)
            tokens += [1, word, word, 0, 0, 0]
        }
        ids = tokens
        for i in 0..<count { for j in 0..<8 { images[i, 0, j, i % 5] += 3 } }
    }

    var samplerState: SamplerState { sampler.state }

    func next() throws -> Batch {
        let (epoch, _, local) = try sampler.next(rank: rank, worldSize: size)
        let imgs = try Tensor.concat(local.map { try images.slice(axis: 0, $0, $0 + 1) }, axis: 0)
        let tokenIDs = local.flatMap { Array(ids[($0 * t)..<($0 * t + t)]) }
        let padding = Tensor(shape: [local.count, t], values: tokenIDs.map { $0 == 0 ? 0 : 1 })
        return Batch(epoch: epoch, indices: local, images: imgs, reports: local.map { "report \($0)" },
                     labels: .zeros([local.count, 1]), labelMask: .zeros([local.count, 1]),
                     text: TextBatch(ids: IndexTensor(shape: [local.count, t], values: tokenIDs), padding: padding))
    }
}

func testConfig(steps: Int) -> RunConfig {
    var c = RunConfig()
    c.train.globalBatch = 8
    c.train.steps = steps
    c.train.learningRate = 3e-3
    c.train.warmupSteps = 2
    c.train.logEvery = 1000
    c.train.weightDecay = 0.01
    return c
}

/// Trains `steps` steps on `size` in-process ranks; returns rank 0's parameters.
func trainCLIP(steps: Int, size: Int, recomputeActivations: Bool = false,
               method makeMethod: @escaping @Sendable () -> TrainingMethod = { CLIPMethod(config: .test, seed: 1) }) throws -> [[Float]] {
    var config = testConfig(steps: steps)
    config.train.recomputeActivations = recomputeActivations
    let fixed = config
    return try LocalWorld.run(size: size) { comm -> [[Float]] in
        let trainer = try Trainer(config: fixed, method: makeMethod(), communicator: comm, runDirectory: nil) { _ in }
        _ = try trainer.run(try FixedBatches(count: 32, globalBatch: 8, rank: comm.rank, size: comm.size)) { _, _ in }
        return trainer.method.model.namedParameters.map { $0.tensor.scalars }
    }[0]
}

@Suite(.serialized) struct TrainerTests {
    @Test func sameSeedSameWorldSizeIsBitIdentical() throws {
        let a = try trainCLIP(steps: 5, size: 1), b = try trainCLIP(steps: 5, size: 1)
        #expect(a == b)
    }

    @Test func twoRanksTrainLikeOneProcess() throws {
        let one = try trainCLIP(steps: 5, size: 1), two = try trainCLIP(steps: 5, size: 2)
        var worst: Float = 0
        for (p, q) in zip(one, two) {
            for (x, y) in zip(p, q) { worst = max(worst, abs(x - y)) }
        }
        #expect(worst < 1e-4, "largest parameter difference \(worst)")
        let untrained = try trainCLIP(steps: 0, size: 1)
        #expect(one != untrained)  // training changed something
    }

    /// train.recomputeActivations changes memory, not results: the same weights bit for bit after training,
    /// in one process and on two ranks (whose gradient buckets reduce from hooks during backward).
    @Test func recomputedActivationsTrainBitIdentically() throws {
        for size in [1, 2] {
            let recorded = try trainCLIP(steps: 4, size: size), recomputed = try trainCLIP(steps: 4, size: size, recomputeActivations: true)
            #expect(recorded == recomputed, "\(size) rank(s)")
        }
    }

    @Test func lossFallsOnALearnableTask() throws {
        let losses = try LocalWorld.run(size: 1) { comm -> [Float] in
            let trainer = try Trainer(config: testConfig(steps: 60), method: CLIPMethod(config: .test, seed: 1), communicator: comm, runDirectory: nil) { _ in }
            let data = try FixedBatches(count: 32, globalBatch: 8, rank: 0, size: 1)
            var losses: [Float] = []
            while trainer.step < 60 { losses.append(try trainer.trainStep(data.next()).loss) }
            return losses
        }[0]
        let early = losses.prefix(5).reduce(0, +) / 5, late = losses.suffix(5).reduce(0, +) / 5
        #expect(late < 0.5 * early, "loss \(early) -> \(late)")
    }

    /// A method whose loss is NaN at one step.
    final class PoisonedMethod: TrainingMethod {
        let inner = CLIPMethod(config: .test, seed: 1)
        let poisonStep: Int
        var calls = 0
        init(poisonStep: Int) { self.poisonStep = poisonStep }
        var model: Module { inner.model }
        var requirements: BatchRequirements { .imagesAndTokens }
        func loss(_ batch: Batch, context: StepContext) throws -> (loss: Tensor, metrics: [String: Float]) {
            defer { calls += 1 }
            let (l, m) = try inner.loss(batch, context: context)
            let comm = context.communicator
            return (calls == poisonStep && comm.rank == comm.size - 1 ? l * Float.nan : l, m)
        }
    }

    @Test func nonFiniteLossStopsNamingTheStepOrIsSkipped() throws {
        do {
            _ = try trainCLIP(steps: 5, size: 2, method: { PoisonedMethod(poisonStep: 3) })
            Issue.record("a NaN loss did not stop training")
        } catch {
            #expect("\(error)".contains("step 3: the loss is not finite"), "\(error)")
        }
        let skipped = try LocalWorld.run(size: 2) { comm -> Int in
            var config = testConfig(steps: 5)
            config.train.nonFinite = "skip"
            let trainer = try Trainer(config: config, method: PoisonedMethod(poisonStep: 3), communicator: comm, runDirectory: nil) { _ in }
            _ = try trainer.run(try FixedBatches(count: 32, globalBatch: 8, rank: comm.rank, size: comm.size)) { _, _ in }
            #expect(trainer.step == 5)
            return trainer.skippedSteps
        }
        #expect(skipped == [1, 1])
    }

    @Test func aStopSignalOnOneRankStopsEveryRankAfterTheSameStep() throws {
        let outcomes = try LocalWorld.run(size: 2) { comm -> (Trainer.Outcome, Int) in
            let trainer = try Trainer(config: testConfig(steps: 10), method: CLIPMethod(config: .test, seed: 1), communicator: comm, runDirectory: nil) { _ in }
            let data = try FixedBatches(count: 32, globalBatch: 8, rank: comm.rank, size: comm.size)
            // Only rank 1 "receives" the signal, after its step 3.
            var received: Int32? = nil
            trainer.stopCheck = { received }
            let outcome = try trainer.run(data) { t, _ in
                if t.step == 3 && comm.rank == 1 { received = SIGUSR1 }
            }
            return (outcome, trainer.step)
        }
        // Rank 1's flag is seen at the end of step 4 (it was raised after step 3's check); every rank stops there.
        #expect(outcomes.map(\.1) == [4, 4])
        #expect(outcomes.allSatisfy { $0.0 == .preempted(signal: SIGUSR1) })
    }
}
