// SyncBatchNorm on in-process ranks: unequal batches on three ranks against one process on the
// concatenated batch, at mean 1e4 and std 1e-2 so both cross-replica passes (mean, deviations) matter.
import Testing
import CarinaDist
import CarinaTensor
import CarinaTestSupport

@Suite struct SyncBatchNormTests {
    struct Outcome: Sendable {
        var y: [Float], dx: [Float], dw: [Float], db: [Float], runningMean: [Float], runningVar: [Float]
    }

    @Test func threeRanksWithUnequalBatchesEqualOneProcessOnTheConcatenatedBatch() throws {
        let sizes = [2, 3, 1], c = 3, s = 4  // per rank (N_r, C, 2, 2)
        let n = sizes.reduce(0, +)
        let shape = [n, c, 2, 2]
        let u = randomTensor(shape, -0.017, 0.017, stream: 7)
        let x = (0..<u.count).map { 1e4 * Float(1 + ($0 / s) % c) + u.pointer[$0] }  // channel means 1e4, 2e4, 3e4
        let upstream = randomTensor(shape, stream: 99).scalars

        @Sendable func run(_ rows: Range<Int>, sync: CrossReplicaSum?) throws -> Outcome {
            let part = rows.lowerBound * c * s..<rows.upperBound * c * s
            let xr = Tensor(shape: [rows.count, c, 2, 2], values: Array(x[part]), requiresGrad: true)
            let w = Tensor(shape: [c], values: [0.5, 1, 1.5], requiresGrad: true)
            let b = Tensor(shape: [c], values: [0.1, -0.2, 0.3], requiresGrad: true)
            let rm = Tensor.zeros([c]), rv = Tensor.ones([c])
            let y = try xr.batchNorm(weight: w, bias: b, runningMean: rm, runningVar: rv, training: true, sync: sync)
            try y.backward(Tensor(shape: y.shape, values: Array(upstream[part])))
            return Outcome(y: y.scalars, dx: xr.grad!.scalars, dw: w.grad!.scalars, db: b.grad!.scalars,
                           runningMean: rm.scalars, runningVar: rv.scalars)
        }

        let one = try run(0..<n, sync: nil)
        let starts = sizes.indices.map { sizes[..<$0].reduce(0, +) }
        let ranks = try LocalWorld.run(size: sizes.count) { comm in
            try run(starts[comm.rank]..<starts[comm.rank] + sizes[comm.rank], sync: comm)
        }

        func close(_ a: [Float], _ b: [Float], relative: Float, _ what: String) {
            let scale = max(b.map(abs).max()!, 1e-30)
            let worst = zip(a, b).map { abs($0 - $1) }.max()!
            #expect(a.count == b.count && worst <= relative * scale, "\(what): largest difference \(worst) of \(scale)\n\(a)\n\(b)")
        }
        close(ranks.flatMap(\.y), one.y, relative: 1e-5, "outputs")
        close(ranks.flatMap(\.dx), one.dx, relative: 1e-4, "input gradients")
        for (r, rank) in ranks.enumerated() {
            close(rank.runningMean, one.runningMean, relative: 1e-6, "rank \(r) running mean")
            close(rank.runningVar, one.runningVar, relative: 1e-6, "rank \(r) running variance")
        }
        // Weight and bias gradients are each rank's own part; data parallelism sums them over ranks.
        func summed(_ part: KeyPath<Outcome, [Float]>) -> [Float] {
            (0..<c).map { ch in ranks.map { $0[keyPath: part][ch] }.reduce(0, +) }
        }
        close(summed(\.dw), one.dw, relative: 1e-4, "weight gradients summed over ranks")
        close(summed(\.db), one.db, relative: 1e-4, "bias gradients summed over ranks")
    }
}
