// Defects found in review, each pinned by a test that fails on the code before the fix: the logit scale
// stuck at 100, BatchNorm statistics that drifted apart across ranks, and a frozen encoder whose
// BatchNorm kept training.
import Foundation
import Testing
import CarinaData
import CarinaDist
import CarinaModels
import CarinaNN
import CarinaTrain

@Suite(.serialized) struct ReviewFixTests {
    @Test func theLogitScaleComesBackAfterAStepPushedItPastOneHundred() throws {
        let values = try LocalWorld.run(size: 1) { comm -> [Float] in
            let method = CLIPMethod(config: .test, seed: 1)
            method.clip.logitScale.value.pointer[0] = 4.65  // where a step may push it: past ln 100
            let trainer = try Trainer(config: testConfig(steps: 4), method: method, communicator: comm, runDirectory: nil) { _ in }
            let data = try FixedBatches(count: 32, globalBatch: 8, rank: 0, size: 1)
            var seen: [Float] = []
            for _ in 0..<4 {
                _ = try trainer.trainStep(data.next())
                seen.append(method.clip.logitScale.value.item)
            }
            return seen
        }[0]
        // Clamped to ln 100 after the step (not left at 4.65 with no gradient), then free to come down.
        #expect(values[0] <= LogitScale.maxLog, "\(values)")
        #expect(values.last! < LogitScale.maxLog, "the scale stayed at 100: \(values)")
    }

    /// A ResNet CLIP, 3 steps on `ranks` ranks: every rank's BatchNorm running statistics.
    func resnetBuffers(ranks: Int, batchNorm: String) throws -> [[Float]] {
        try LocalWorld.run(size: ranks) { comm -> [Float] in
            var config = CLIPConfig.test
            (config.imageEncoder, config.resnetBlocks, config.resnetWidth, config.visionWidth) = (.resnet, [1, 1, 1, 1], 4, 16)
            var run = testConfig(steps: 3)
            run.train.batchNorm = batchNorm
            let trainer = try Trainer(config: run, method: CLIPMethod(config: config, seed: 1), communicator: comm, runDirectory: nil) { _ in }
            _ = try trainer.run(try FixedBatches(count: 32, globalBatch: 8, rank: comm.rank, size: comm.size)) { _, _ in }
            return trainer.method.model.namedBuffers.flatMap { $0.tensor.scalars }
        }
    }

    @Test func batchNormStatisticsAgreeOnEveryRankAndMatchOneProcess() throws {
        let one = try resnetBuffers(ranks: 1, batchNorm: "sync")[0]
        let two = try resnetBuffers(ranks: 2, batchNorm: "sync")
        #expect(two[0] == two[1], "the ranks hold different running statistics")
        var worst: Float = 0
        for (a, b) in zip(one, two[0]) { worst = max(worst, abs(a - b)) }
        #expect(worst < 1e-4, "2 ranks differ from one process by \(worst)")
        let broadcast = try resnetBuffers(ranks: 2, batchNorm: "broadcast")
        #expect(broadcast[0] == broadcast[1], "broadcast mode left the ranks with different statistics")
    }

    @Test func aFrozenEncodersBatchNormKeepsItsRunningStatistics() throws {
        var settings = FineTuneConfig()
        settings.freezeEncoder = true
        (settings.encoder.imageEncoder, settings.encoder.imageSize, settings.encoder.resnetBlocks, settings.encoder.resnetWidth,
         settings.encoder.visionWidth, settings.encoder.visionHeads) = (.resnet, 32, [1, 1, 1, 1], 4, 16, 2)
        let config = settings
        let (before, after, modes) = try LocalWorld.run(size: 1) { comm -> ([Float], [Float], [Bool]) in
            let method = FineTuneMethod(config: config, classNames: PhantomFindings.classNames, seed: 1)
            let before = method.model.namedBuffers.flatMap { $0.tensor.scalars }
            var run = testConfig(steps: 2)
            run.train.globalBatch = 4
            let trainer = try Trainer(config: run, method: method, communicator: comm, runDirectory: nil) { _ in }
            let source = SyntheticCXR(count: 8, seed: 2, imageSize: 32)
            let batch = try BatchAssembler(source: source, transform: ImageTransform(size: 32, train: true), seed: 1).assemble(indices: [0, 1, 2, 3], epoch: 0).batch
            method.model.train()  // whatever train() is called on, the frozen encoder stays in eval mode
            _ = try trainer.trainStep(batch)
            _ = try trainer.trainStep(batch)
            return (before, method.model.namedBuffers.flatMap { $0.tensor.scalars },
                    method.network.resnet!.allModules.map(\.isTraining) + [method.network.head.isTraining])
        }[0]
        #expect(before == after, "the frozen encoder's BatchNorm statistics changed")
        #expect(modes.dropLast().allSatisfy { !$0 } && modes.last == true)
    }
}
