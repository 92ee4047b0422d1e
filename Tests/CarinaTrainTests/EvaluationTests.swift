// Distributed contrastive evaluation: every sample counted once, and 2 ranks give the 1-rank numbers.
import Testing
import CarinaData
import CarinaDist
import CarinaModels
import CarinaNN
import CarinaTrain

@Suite struct EvaluationTests {
    /// Batches of the samples in `range` of a fixed 21-sample set (an odd count: uneven shards).
    func batches(_ range: Range<Int>) throws -> [Batch] {
        let all = try FixedBatches(count: 21, globalBatch: 1, rank: 0, size: 1)
        var out: [Batch] = []
        var start = range.lowerBound
        while start < range.upperBound {
            let rows = Array(start..<min(start + 4, range.upperBound))
            let imgs = try Tensor.concat(rows.map { try all.images.slice(axis: 0, $0, $0 + 1) }, axis: 0)
            // Distinct reports (identical ones would tie in retrieval and leave the order to rounding).
            let ids = rows.flatMap { i -> [Int32] in [1, Int32(2 + i % 18), Int32(2 + i / 18), Int32(2 + (i * 7) % 18), 0, 0] }
            let labels = rows.flatMap { i -> [Float] in [i % 5 == 0 ? 1 : 0, i % 2 == 0 ? 1 : 0] }
            let mask = rows.flatMap { i -> [Float] in [1, i == 3 ? 0 : 1] }
            out.append(Batch(epoch: 0, indices: rows, images: imgs, reports: [], labels: Tensor(shape: [rows.count, 2], values: labels),
                             labelMask: Tensor(shape: [rows.count, 2], values: mask),
                             text: TextBatch(ids: IndexTensor(shape: [rows.count, 6], values: ids),
                                             padding: Tensor(shape: [rows.count, 6], values: ids.map { $0 == 0 ? 0 : 1 }))))
            start += 4
        }
        return out
    }

    func evaluate(size: Int) throws -> [String: Double] {
        try LocalWorld.run(size: size) { comm -> [String: Double] in
            let clip = CLIPModel(config: .test, seed: 3)
            let mine = EvaluationShard.range(count: 21, rank: comm.rank, size: comm.size)
            let embedded = try ContrastiveEvaluation.embed(clip, batches: self.batches(mine), classCount: 2, withText: true, communicator: comm)
            #expect(embedded.images.shape == [21, 8])
            var evaluation = ContrastiveEvaluation(classNames: ["Cardiomegaly", "Edema"])
            evaluation.probeFractions = [0.5, 1]
            return try evaluation.run(clip, evaluation: embedded, probeTraining: embedded) { prompts in
                let ids = prompts.flatMap { p -> [Int32] in [1, Int32(2 + p.count % 7), 3, 0, 0, 0] }
                return try clip.embedText(IndexTensor(shape: [prompts.count, 6], values: ids), padding: nil)
            }
        }[0]
    }

    @Test func twoRanksEvaluateLikeOne() throws {
        let one = try evaluate(size: 1), two = try evaluate(size: 2)
        #expect(Set(one.keys) == Set(["zero_shot_macro_auc", "zero_shot_auc/Cardiomegaly", "zero_shot_auc/Edema", "probe_50pct_macro_auc",
                                      "probe_100pct_macro_auc", "r@1_i2t", "r@5_i2t", "r@10_i2t", "r@1_t2i", "r@5_t2i", "r@10_t2i"]))
        for (key, value) in one { #expect(abs(value - two[key]!) < 1e-5, "\(key): \(value) vs \(two[key]!)") }
    }

    @Test func zeroShotRanksByLogitsSoSaturatedProbabilitiesDoNotTie() throws {
        // Logits 20 (a negative image) and 25 (a positive one): both sigmoids round to 1.0 in Float32, a tie
        // that would score AUC 0.5; ranked by the logits the AUC is 1.
        let images = Tensor(shape: [2, 2], values: [0.2, 0, 0.25, 0])
        let m = try ContrastiveEvaluation.zeroShotMetrics(images: images, positive: Tensor(shape: [1, 2], values: [1, 0]),
                                                          negative: Tensor(shape: [1, 2], values: [0, 0]), scale: 100,
                                                          labels: Tensor(shape: [2, 1], values: [0, 1]), classNames: ["Edema"])
        #expect(m.auc[0] == 1)
    }
}
