// Training on prepared shards and evaluating a run on another dataset (`carina eval`): the phantoms are
// written as shards, a tiny CLIP trains on them, and the run is evaluated on a second shard set.
import Foundation
import Testing
import CarinaData
import CarinaDist
import CarinaTestSupport
import CarinaTrain

@Suite struct ShardTrainingTests {
    func writeShards(_ dir: String, count: Int, seed: UInt64) throws {
        let source = SyntheticCXR(count: count, seed: seed, imageSize: 32)
        let writer = try ShardWriter(directory: dir, samplesPerShard: 50, imageSize: nil, name: "phantoms", classNames: source.classNames)
        for i in 0..<count { try writer.write(source.sample(at: i)) }
        _ = try writer.finish()
    }

    @Test func trainOnShardsThenEvaluateOnAnotherDataset() throws {
        let (config, run) = try temporaryRunDirectory()
        let root = (config as NSString).deletingLastPathComponent
        try writeShards(root + "/train-shards", count: 90, seed: 1)
        try writeShards(root + "/other-shards", count: 60, seed: 2)
        let text = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "  syntheticCount: 120\n", with: "  train: \(root)/train-shards\n")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let summary = try train(config, run, ranks: 2)
        #expect(summary.steps == 12 && summary.outcome == .finished)
        let result = try LocalWorld.run(size: 2) { comm in
            var options = EvaluationRun.Options(dataset: root + "/other-shards")
            (options.split, options.fractions, options.bootstrap) = ("train", [0.5, 1], 20)
            return try EvaluationRun(runDirectory: run, communicator: comm).run(options)
        }[0]
        let trained = result.trained.values, untrained = try #require(result.untrained).values
        #expect(trained["probe_50pct/macro_auc"] != nil && trained["zero_shot/macro_auc"] != nil && trained["retrieval/r@1_i2t"] != nil)
        #expect(trained["zero_shot/auc/Cardiomegaly"] != nil && trained["probe_100pct/auc/Edema"] != nil)
        #expect(untrained.keys.sorted() == trained.keys.sorted())
        #expect(trained != untrained)
        #expect(result.trained.title == "the 'train' split of \(root)/other-shards")
        #expect(result.checkpoint.hasSuffix("step-00000012.ckpt"))
    }

    @Test func evaluatingOnThePhantomsWrittenAsShardsScoresTheRunsOwnEvaluationSet() throws {
        // `carina synth write` with a run's seed and count, then `carina eval --split valid`: the same samples and
        // the same numbers as the run's own final evaluation (the shards once split the phantoms by their own rule).
        let dir = NSTemporaryDirectory() + "carina-synth-eval-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let config = dir + "/run.yaml", run = dir + "/run"
        try tinyCLIPRunConfig(steps: 4, checkpointEvery: 4, eval: "  linearProbe: false\n  bootstrap: 0\n  compareUntrained: false")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let own = try #require(try train(config, run, ranks: 1).evaluation)
        let phantoms = SyntheticCXR(count: 120, seed: 3, imageSize: 32)  // tinyCLIPRunConfig's seed and data
        try writeShards(dir + "/shards", count: phantoms.count, seed: phantoms.seed)
        var options = EvaluationRun.Options(dataset: dir + "/shards")
        (options.split, options.fractions, options.bootstrap, options.compareUntrained) = ("valid", [], 0, false)
        let shards = try EvaluationRun(runDirectory: run, communicator: LocalWorld(size: 1).communicators()[0]).run(options).trained
        #expect(shards.samples == phantoms.split("valid").count && own.samples == shards.samples)
        #expect(own.values["zero_shot/macro_auc"] != nil && own.values["retrieval/r@1_i2t"] != nil)
        for (key, value) in own.values where key.hasPrefix("zero_shot") || key.hasPrefix("retrieval") {
            #expect(shards.values[key].map { $0 == value || ($0.isNaN && value.isNaN) } == true, "\(key): \(value) in the run, \(shards.values[key] ?? .nan) on the shards")
        }
    }

    @Test func theProbeTrainsOnAnotherDatasetThanTheOneEvaluated() throws {
        let (config, run) = try temporaryRunDirectory()
        let root = (config as NSString).deletingLastPathComponent
        try writeShards(root + "/eval-shards", count: 40, seed: 2)
        try writeShards(root + "/probe-shards", count: 60, seed: 3)
        try train(config, run, ranks: 1)
        func evaluate(probe: String?) throws -> EvaluationReport {
            var options = EvaluationRun.Options(dataset: root + "/eval-shards")
            (options.split, options.probeDataset, options.fractions, options.bootstrap, options.compareUntrained) = ("train", probe, [1], 0, false)
            return try EvaluationRun(runDirectory: run, communicator: LocalWorld(size: 1).communicators()[0]).run(options).trained
        }
        let own = try evaluate(probe: nil), other = try evaluate(probe: root + "/probe-shards")
        // The same evaluated samples and zero-shot numbers, a probe trained on other samples.
        #expect(own.samples == other.samples && own.values["zero_shot/macro_auc"] == other.values["zero_shot/macro_auc"])
        #expect(own.values["probe_100pct/macro_auc"] != other.values["probe_100pct/macro_auc"])
    }

    @Test func missingSplitIsNamed() throws {
        let (config, run) = try temporaryRunDirectory()
        let root = (config as NSString).deletingLastPathComponent
        try writeShards(root + "/s", count: 30, seed: 1)
        try train(config, run, ranks: 1)
        do {
            var options = EvaluationRun.Options(dataset: root + "/s")
            options.split = "holdout"
            _ = try EvaluationRun(runDirectory: run, communicator: LocalWorld(size: 1).communicators()[0]).run(options)
            Issue.record("an unknown split was accepted")
        } catch { #expect("\(error)".contains("no samples in split 'holdout'"), "\(error)") }
    }
}
