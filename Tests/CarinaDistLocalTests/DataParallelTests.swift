// Data-parallel training with in-process ranks: N ranks with local batch b give the loss and gradients of
// one rank with batch N·b (InfoNCE over global negatives included), accumulation equals a bigger batch,
// replicas that diverge are named, unused parameters do not hang the reduction.
import Foundation
import Testing
import CarinaDist
import CarinaModels
import CarinaNN
import CarinaTestSupport

/// A fixed synthetic image-report batch.
struct ContrastiveBatch: @unchecked Sendable {
    let images: Tensor  // (N, 1, 8, 8)
    let ids: [Int32]  // (N, T)
    let padding: [Float]  // (N, T)
    let t: Int

    init(size: Int) {
        let t = 6
        self.t = t
        var rng = RNG(seed: 99, "batch", size)
        images = Tensor.normal([size, 1, 8, 8], rng: &rng)
        ids = (0..<(size * t)).map { i in i % t == 0 ? 1 : Int32(2 + rng.int(18)) }
        padding = (0..<(size * t)).map { i in (i / t) % 3 == 0 && i % t >= 4 ? 0 : 1 }
    }

    /// Rows lo..<hi.
    func rows(_ lo: Int, _ hi: Int) throws -> (Tensor, IndexTensor, Tensor) {
        (try images.slice(axis: 0, lo, hi).copy(),
         IndexTensor(shape: [hi - lo, t], values: Array(ids[(lo * t)..<(hi * t)])),
         Tensor(shape: [hi - lo, t], values: Array(padding[(lo * t)..<(hi * t)])))
    }
}

/// Loss and gradients (by parameter name) after one forward/backward.
struct StepResult: Sendable {
    let loss: Float
    let gradients: [String: [Float]]
}

func relativeDifference(_ a: [Float], _ b: [Float]) -> Float {
    var diff = 0.0, norm = 0.0
    for (x, y) in zip(a, b) {
        diff += Double(x - y) * Double(x - y)
        norm += Double(y) * Double(y)
    }
    return Float((diff / max(norm, 1e-30)).squareRoot())
}

@Suite struct DataParallelTests {
    static let globalBatch = 8

    func singleProcessReference() throws -> StepResult {
        let model = CLIPModel(config: .test, seed: 1)
        let comm = LocalWorld(size: 1).communicators()[0]
        let (images, ids, pad) = try ContrastiveBatch(size: Self.globalBatch).rows(0, Self.globalBatch)
        let loss = try model.loss(images: images, ids: ids, padding: pad, communicator: comm)
        try loss.backward()
        return StepResult(loss: loss.item, gradients: Dictionary(uniqueKeysWithValues: model.namedParameters.map { ($0.name, $0.tensor.grad!.scalars) }))
    }

    @Test(arguments: [2, 4]) func ranksWithLocalBatchMatchOneRankWithTheGlobalBatch(_ n: Int) throws {
        let reference = try singleProcessReference()
        let results = try LocalWorld.run(size: n) { comm -> StepResult in
            // Ranks start from different initialisations: the broadcast makes them rank 0's.
            let model = CLIPModel(config: .test, seed: comm.rank == 0 ? 1 : 100 + UInt64(comm.rank))
            let ddp = try DataParallel(model: model, communicator: comm, bucketBytes: 4096)
            let b = Self.globalBatch / n
            let (images, ids, pad) = try ContrastiveBatch(size: Self.globalBatch).rows(comm.rank * b, (comm.rank + 1) * b)
            let loss = try model.loss(images: images, ids: ids, padding: pad, communicator: comm)
            try loss.backward()
            try ddp.synchronizeGradients()
            var total = [loss.item]
            try comm.allReduceSum(&total)
            #expect(ddp.bucketCount > 1)
            return StepResult(loss: total[0], gradients: Dictionary(uniqueKeysWithValues: model.namedParameters.map { ($0.name, $0.tensor.grad!.scalars) }))
        }
        for (rank, result) in results.enumerated() {
            #expect(abs(result.loss - reference.loss) <= 1e-5 * abs(reference.loss), "rank \(rank) loss")
            for (name, g) in reference.gradients {
                let d = relativeDifference(result.gradients[name]!, g)
                #expect(d <= 1e-5, "rank \(rank) \(name): relative difference \(d)")
            }
        }
        // Every rank holds bit-identical gradients after the reduction.
        for result in results.dropFirst() { #expect(result.gradients == results[0].gradients) }
    }

    @Test func accumulatingMicroBatchesEqualsOneStepOnTheBiggerBatch() throws {
        // A loss that decomposes over samples (InfoNCE does not: its negatives are the batch).
        @Sendable func classifierLoss(_ model: Linear, rows: Range<Int>, globalBatch: Int) throws -> Tensor {
            var rng = RNG(seed: 5, "features")
            let x = Tensor.normal([16, 6], rng: &rng)
            let targets = (0..<16).map { Int32($0 % 3) }
            return try model(x.slice(axis: 0, rows.lowerBound, rows.upperBound)).crossEntropy(targets: Array(targets[rows]), reduction: .sum) / Float(globalBatch)
        }
        var rng = RNG(seed: 4)
        let single = Linear(6, 3, rng: &rng)
        try classifierLoss(single, rows: 0..<16, globalBatch: 16).backward()
        let expected = single.weight.grad!.scalars
        let results = try LocalWorld.run(size: 2) { comm -> [Float] in
            var rng = RNG(seed: 4)
            let model = Linear(6, 3, rng: &rng)
            let ddp = try DataParallel(model: model, communicator: comm)
            // 2 ranks × 2 micro-batches of 4 = global batch 16
            for micro in 0..<2 {
                let lo = comm.rank * 8 + micro * 4
                let step = { try classifierLoss(model, rows: lo..<(lo + 4), globalBatch: 16).backward() }
                if micro == 0 { try ddp.noSync(step) } else { try step() }
            }
            try ddp.synchronizeGradients()
            return model.weight.grad!.scalars
        }
        for r in results { #expect(relativeDifference(r, expected) <= 1e-5) }
    }

    @Test func divergingParametersAreNamed() throws {
        do {
            _ = try LocalWorld.run(size: 2) { comm -> Int in
                let model = CLIPModel(config: .test, seed: 1)
                if comm.rank == 1 { model.text.encoder.blocks[0].mlp.fc2.weight[0, 0] += 1e-3 }
                _ = try DataParallel(model: model, communicator: comm, initialSync: .verify)
                return 0
            }
            Issue.record("diverging replicas were not detected")
        } catch {
            #expect("\(error)".contains("text.encoder.blocks.0.mlp.fc2.weight"), "\(error)")
            #expect("\(error)".contains("rank 1"), "\(error)")
        }
    }

    @Test func differentModelStructureIsNamed() throws {
        do {
            _ = try LocalWorld.run(size: 2) { comm -> Int in
                var config = CLIPConfig.test
                if comm.rank == 1 { config.embedDim = 4 }
                _ = try DataParallel(model: CLIPModel(config: config, seed: 1), communicator: comm)
                return 0
            }
            Issue.record("different structures were not detected")
        } catch {
            #expect("\(error)".contains("imageProjection.weight") && "\(error)".contains("name or shape"), "\(error)")
        }
    }

    @Test func parametersWithoutGradientDoNotHangTheReduction() throws {
        final class TwoBranches: Module {
            let used: Linear
            let unused: Linear
            init(rng: inout RNG) {
                used = Linear(3, 2, rng: &rng)
                unused = Linear(3, 2, rng: &rng)
            }
        }
        let grads = try LocalWorld.run(size: 2, timeout: 10) { comm -> [Float] in
            var rng = RNG(seed: 1)
            let model = TwoBranches(rng: &rng)
            let ddp = try DataParallel(model: model, communicator: comm, bucketBytes: 16)
            try model.used(Tensor.full([1, 3], Float(comm.rank + 1))).sum().backward()
            try ddp.synchronizeGradients()
            return model.used.weight.grad!.scalars + model.unused.weight.grad!.scalars
        }
        #expect(grads[0] == grads[1])
        #expect(Array(grads[0].prefix(6)) == [3, 3, 3, 3, 3, 3])  // 1 + 2 from the two ranks
        #expect(grads[0].suffix(6).allSatisfy { $0 == 0 })
    }

    @Test func dropoutMasksDependOnTheSampleNotTheRank() throws {
        let x = Tensor.ones([8, 5])
        let key = RandomKey(seed: 3, stream: 7)
        let full = try x.dropout(0.5, training: true, key: key).scalars
        for n in [2, 4] {
            let b = 8 / n
            var pieces: [Float] = []
            for r in 0..<n {
                var local = key
                local.firstRow = r * b
                pieces += try x.slice(axis: 0, r * b, (r + 1) * b).dropout(0.5, training: true, key: local).scalars
            }
            #expect(pieces == full)
        }
    }
}
