// The checkpoint benchmark runs end to end on a tiny CLIP and reports every data set and setting with
// consistent sizes (no speed is asserted: the machines are shared and noisy).
import CarinaBench
import CarinaCheckpoint
import CarinaModels
import Testing

@Suite struct CheckpointBenchmarkTests {
    @Test func quickRunReportsEveryDataSetAndSetting() throws {
        let rows = try CheckpointBenchmark.quick.run()
        #expect(rows.count == 3 * 2 * 2)
        #expect(rows.allSatisfy { $0.rawBytes > 0 && $0.ratio > 0 && $0.ratio < 1.1 && $0.writeMBps > 0 && $0.readMBps > 0 && $0.encodeMBps > 0 })
        // Weights plus two moments are three times the weights, plus one step count per parameter tensor.
        let tensors = CLIPModel(config: CheckpointBenchmark.quick.config, seed: 1).namedParameters.count
        #expect(rows[0].rawBytes == 3 * rows[4].rawBytes + 4 * tensors && rows[8].rawBytes == rows[0].rawBytes)
        #expect(CheckpointBenchmark.table(rows, threads: 2).contains("CLIP weights + AdamW moments"))
    }

    @Test func trainedLikeWeightsMovedAwayFromTheirInitialisation() throws {
        var bench = CheckpointBenchmark.quick
        bench.adamSteps = 0
        let initial = try bench.datasets()[1].contents.model
        bench.adamSteps = 3
        let trained = try bench.datasets()[1].contents.model
        let changed = zip(initial, trained).filter { $0.tensor.scalars != $1.tensor.scalars }.count
        #expect(changed == initial.count, "\(initial.count - changed) tensors were not updated")
    }
}
