// Resuming: a run stopped at step j and resumed is bit-identical at step k to the run that never stopped
// (same world size), and continues the same data order on 4 -> 2 -> 1 ranks with parameters equal to float
// tolerance. Uses the whole `carina train` path (TrainingRun) on in-process ranks.
import Foundation
import Testing
import CarinaCheckpoint
import CarinaDist
import CarinaTestSupport
import CarinaTrain

let tinyRunConfig = tinyCLIPRunConfig(steps: 12, checkpointEvery: 4, eval: "  linearProbe: false\n  maxSamples: 16")

func temporaryRunDirectory() throws -> (config: String, run: String) {
    let dir = NSTemporaryDirectory() + "carina-run-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try tinyRunConfig.write(toFile: dir + "/tiny.yaml", atomically: true, encoding: .utf8)
    return (dir + "/tiny.yaml", dir + "/run")
}

/// Trains on `ranks` in-process ranks, stopping (as on SIGUSR1) after step `stopAt` if given.
@discardableResult
func train(_ config: String, _ run: String, ranks: Int, stopAt: Int? = nil) throws -> TrainingRun.Summary {
    try LocalWorld.run(size: ranks) { comm in
        let r = try TrainingRun(configPath: config, runDirectory: run, communicator: comm) { _ in }
        if let stopAt { r.stopCheck = { step in step >= stopAt ? SIGUSR1 : nil } } else { r.stopCheck = { _ in nil } }
        return try r.run(resume: .auto)
    }[0]
}

func finalCheckpoint(_ run: String) throws -> CheckpointContents {
    let store = try CheckpointStore(directory: run + "/checkpoints")
    return try #require(try store.latestValid()).contents
}

@Suite struct ResumeTests {
    @Test func resumedRunIsBitIdentical() throws {
        let a = try temporaryRunDirectory(), b = try temporaryRunDirectory()
        try train(a.config, a.run, ranks: 1)
        let stopped = try train(b.config, b.run, ranks: 1, stopAt: 5)
        #expect(stopped.outcome == .preempted(signal: SIGUSR1) && stopped.steps == 5)
        let resumed = try train(b.config, b.run, ranks: 1)
        #expect(resumed.resumedFrom?.hasSuffix("step-00000005.ckpt") == true && resumed.steps == 12)
        let x = try finalCheckpoint(a.run), y = try finalCheckpoint(b.run)
        #expect(x.state.step == 12 && y.state.step == 12 && x.state.samplesConsumed == y.state.samplesConsumed)
        for (p, q) in zip(x.model + x.optimizer, y.model + y.optimizer) {
            #expect(p.name == q.name && p.tensor.scalars == q.tensor.scalars, "\(p.name) differs")
        }
        #expect(resumed.evaluation?.section("zero_shot") != nil)
    }

    @Test func resumeOnFourThenTwoThenOneRanksContinuesTheSameData() throws {
        let a = try temporaryRunDirectory(), b = try temporaryRunDirectory()
        try train(a.config, a.run, ranks: 1)
        try train(b.config, b.run, ranks: 4, stopAt: 4)
        #expect(try finalCheckpoint(b.run).state.worldSize == 4)
        try train(b.config, b.run, ranks: 2, stopAt: 8)
        let last = try train(b.config, b.run, ranks: 1)
        #expect(last.steps == 12)
        let x = try finalCheckpoint(a.run), y = try finalCheckpoint(b.run)
        #expect(x.state.epoch == y.state.epoch && x.state.samplesConsumed == y.state.samplesConsumed)
        var worst: Float = 0
        for (p, q) in zip(x.model, y.model) { for (u, v) in zip(p.tensor.scalars, q.tensor.scalars) { worst = max(worst, abs(u - v)) } }
        #expect(worst < 1e-3, "largest parameter difference \(worst)")
    }

    @Test func twoRanksFinishTrainAndEvaluate() throws {
        let a = try temporaryRunDirectory()
        let summary = try train(a.config, a.run, ranks: 2)
        #expect(summary.steps == 12 && summary.outcome == .finished && summary.evaluation?.values["zero_shot/macro_auc"] != nil)
    }

    @Test func anUnknownTextAugmentationIsRejectedBeforeTraining() throws {
        let a = try temporaryRunDirectory()
        try tinyRunConfig.replacingOccurrences(of: "textAugment: subset", with: "textAugment: sentences")
            .write(toFile: a.config, atomically: true, encoding: .utf8)
        let error = #expect(throws: ConfigError.self) {
            try LocalWorld.run(size: 1) { comm in _ = try TrainingRun(configPath: a.config, runDirectory: a.run, communicator: comm) { _ in } }
        }
        let text = "\(error.map { "\($0)" } ?? "")"
        #expect(text.contains(a.config) && text.contains("data.textAugment") && text.contains("'sentences'"), "\(text)")
    }

    @Test func aCorruptNewestCheckpointFallsBackToTheOneBefore() throws {
        let a = try temporaryRunDirectory()
        try train(a.config, a.run, ranks: 1, stopAt: 8)
        let store = try CheckpointStore(directory: a.run + "/checkpoints")
        let newest = store.list()[0]
        var data = FileManager.default.contents(atPath: newest)!
        data.removeLast(100)
        try data.write(to: URL(fileURLWithPath: newest))
        let resumed = try train(a.config, a.run, ranks: 1)
        #expect(resumed.resumedFrom?.hasSuffix("step-00000004.ckpt") == true)
        #expect(resumed.steps == 12)
    }
}
