// Fine-tuning: the loss over known labels decomposes exactly over ranks, a fine-tune starts from a
// contrastive run's image encoder, and a run reports per-finding AUC.
import Foundation
import Testing
import CarinaCheckpoint
import CarinaData
import CarinaDist
import CarinaModels
import CarinaNN
import CarinaTrain

/// The context of a first step with `rows` rows per rank and a global batch of 8.
func firstStepContext(_ comm: Communicator, rows: Int) -> StepContext {
    StepContext(step: 0, epoch: 0, stage: StageInfo(index: 0, name: "train", step: 0, steps: 1), seed: 1, communicator: comm,
                globalBatch: 8, rowOffset: comm.rank * rows)
}

@Suite struct FineTuneTests {
    func batch(_ rows: Range<Int>) throws -> Batch {
        let source = SyntheticCXR(count: 16, seed: 5, imageSize: 32)
        let assembler = BatchAssembler(source: source, transform: ImageTransform(size: 32, train: false), seed: 1)
        var b = try assembler.assemble(indices: Array(rows), epoch: 0).batch
        // Some unknown labels (keyed by sample and class), unevenly spread over the ranks' halves.
        let mask = b.labelMask.copy()
        let c = mask.shape[1]
        for (r, s) in rows.enumerated() { for j in 0..<c where (s * 7 + j) % 5 == 0 && s < 3 { mask.pointer[r * c + j] = 0 } }
        b = Batch(epoch: 0, indices: b.indices, images: b.images, reports: b.reports, labels: b.labels, labelMask: mask, text: nil)
        return b
    }

    @Test func twoRanksMatchOneRankWithTheDoubleBatch() throws {
        var settings = FineTuneConfig()
        (settings.encoder.imageSize, settings.encoder.patchSize, settings.encoder.visionWidth, settings.encoder.visionDepth, settings.encoder.visionHeads) = (32, 8, 16, 1, 2)
        let classes = PhantomFindings.classNames
        let config = settings
        let one = try LocalWorld.run(size: 1) { comm -> (Float, [Float]) in
            let m = FineTuneMethod(config: config, classNames: classes, seed: 1)
            let (loss, _) = try m.loss(try self.batch(0..<8), context: firstStepContext(comm, rows: 8))
            try loss.backward()
            return (loss.item, m.network.head.weight.grad!.scalars + m.network.visual!.patchEmbed.weight.grad!.scalars)
        }[0]
        let two = try LocalWorld.run(size: 2) { comm -> (Float, [Float]) in
            let m = FineTuneMethod(config: config, classNames: classes, seed: 1)
            let ddp = try DataParallel(model: m.model, communicator: comm)
            let (loss, _) = try m.loss(try self.batch((comm.rank * 4)..<(comm.rank * 4 + 4)), context: firstStepContext(comm, rows: 4))
            try loss.backward()
            try ddp.synchronizeGradients()
            var total = [loss.item]
            try comm.allReduceSum(&total)
            return (total[0], m.network.head.weight.grad!.scalars + m.network.visual!.patchEmbed.weight.grad!.scalars)
        }[0]
        #expect(abs(one.0 - two.0) < 1e-5 * abs(one.0))
        var diff = 0.0, norm = 0.0
        for (a, b) in zip(two.1, one.1) { diff += Double(a - b) * Double(a - b); norm += Double(b) * Double(b) }
        #expect((diff / norm).squareRoot() < 1e-5)
    }

    @Test func fineTuneStartsFromAContrastiveRunsEncoderAndReportsAUC() throws {
        let (clipConfig, clipRun) = try temporaryRunDirectory()
        try train(clipConfig, clipRun, ranks: 1)
        let root = (clipConfig as NSString).deletingLastPathComponent
        let yaml = """
            method: finetune
            seed: 3
            model:
              initFrom: \(clipRun)
              encoder:
                patchSize: 8
                visionWidth: 16
                visionDepth: 1
                visionHeads: 2
            data:
              syntheticCount: 120
              imageSize: 32
            train:
              globalBatch: 8
              steps: 6
              warmupSteps: 1
              learningRate: 1.0e-3
              checkpointEvery: 0
            eval:
              maxSamples: 16
            """
        try yaml.write(toFile: root + "/finetune.yaml", atomically: true, encoding: .utf8)
        final class Lines: @unchecked Sendable { var all: [String] = [] }
        let lines = Lines()
        let summary = try LocalWorld.run(size: 1) { comm -> TrainingRun.Summary in
            let r = try TrainingRun(configPath: root + "/finetune.yaml", runDirectory: root + "/ft", communicator: comm) { lines.all.append($0) }
            r.stopCheck = { _ in nil }
            return try r.run(resume: .auto)
        }[0]
        // visual.*: patch embedding (2) + class token + positions + 1 block (12) + final norm (2) = 18 tensors.
        #expect(lines.all.contains { $0.contains("the image encoder starts from") && $0.contains(clipRun) && $0.contains("(18 tensors)") }, "\(lines.all)")
        let report = try #require(summary.evaluation)
        #expect(summary.steps == 6 && report.values["classifier/macro_auc"] != nil && report.values["classifier/map_ci_high"] != nil)
        #expect(report.section("classifier")!.perClass.contains { $0.name == "Cardiomegaly" })
        // The fine-tuned encoder's features are probed too, and the untrained column starts from the CLIP encoder.
        #expect(report.section("probe_100pct") != nil && summary.untrained?.section("classifier") != nil)
        let fine = try #require(try CheckpointStore(directory: root + "/ft/checkpoints").latestValid()).contents
        #expect(fine.model.contains { $0.name == "head.weight" } && !fine.model.contains { $0.name.hasPrefix("text.") })
    }
}
