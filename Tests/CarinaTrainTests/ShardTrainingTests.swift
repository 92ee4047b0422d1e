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
            try EvaluationRun(runDirectory: run, communicator: comm).run(dataset: root + "/other-shards", evalSplit: "train", fractions: [0.5, 1])
        }[0]
        #expect(result.trained["probe_50pct_macro_auc"] != nil && result.trained["zero_shot_macro_auc"] != nil && result.trained["r@1_i2t"] != nil)
        #expect(result.untrained.keys.sorted() == result.trained.keys.sorted())
        #expect(result.trained != result.untrained)
    }

    @Test func missingSplitIsNamed() throws {
        let (config, run) = try temporaryRunDirectory()
        let root = (config as NSString).deletingLastPathComponent
        try writeShards(root + "/s", count: 30, seed: 1)
        try train(config, run, ranks: 1)
        do {
            _ = try EvaluationRun(runDirectory: run, communicator: LocalWorld(size: 1).communicators()[0]).run(dataset: root + "/s", evalSplit: "holdout")
            Issue.record("an unknown split was accepted")
        } catch { #expect("\(error)".contains("no samples in split 'holdout'"), "\(error)") }
    }
}
