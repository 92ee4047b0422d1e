// Training on prepared shards and evaluating a run on another dataset (`carina eval`): the phantoms are
// written as shards, a tiny CLIP trains on them, and the run is evaluated on a second shard set.
import Foundation
import Testing
import CarinaData
import CarinaDist
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
