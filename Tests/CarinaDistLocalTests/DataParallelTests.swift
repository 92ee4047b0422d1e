// Data-parallel training with in-process ranks: N ranks with local batch b give the loss and gradients of
// one rank with batch N·b (InfoNCE over global negatives included), accumulation equals a bigger batch,
// replicas that diverge are named, unused parameters do not hang the reduction.
import Foundation
import Testing
import CarinaBench
import CarinaDist
import CarinaModels
import CarinaNN
import CarinaTestSupport
import CarinaTrain

func relativeDifference(_ a: [Float], _ b: [Float]) -> Float {
    var diff = 0.0, norm = 0.0
    for (x, y) in zip(a, b) {
        diff += Double(x - y) * Double(x - y)
        norm += Double(y) * Double(y)
    }
    return Float((diff / max(norm, 1e-30)).squareRoot())
}

/// Every method Carina ships, by name: a new method is checked by registering it (MethodRegistry.builtIn).
let shippedMethods = MethodRegistry.builtIn.map(\.name)

@Suite struct DataParallelTests {
    @Test(arguments: shippedMethods, [2, 4]) func ranksWithLocalBatchMatchOneRankWithTheGlobalBatch(_ method: String, _ n: Int) throws {
        let check = EquivalenceCheck(try MethodRegistry.registration(method, source: "test"))
        let outcomes = try LocalWorld.run(size: n) { comm in try check.run(comm) }
        for (rank, o) in outcomes.enumerated() {
            #expect(o.lossDifference <= 1e-4, "\(method) rank \(rank): loss \(o.loss) vs \(o.referenceLoss)")
            #expect(o.worstGradient <= 1e-4, "\(method) rank \(rank): \(o.worstParameter) differs by \(o.worstGradient)")
            #expect(!o.gradients.isEmpty)
        }
        // Every rank holds bit-identical gradients after the reduction.
        for o in outcomes.dropFirst() { #expect(o.gradients == outcomes[0].gradients) }
    }

    /// Recomputing every transformer block's activations in backward gives every method the same loss
    /// and reduced gradients bit for bit, with a bucket per parameter reduced from the gradient hooks.
    @Test(arguments: shippedMethods) func recomputedActivationsGiveTheSameGradients(_ method: String) throws {
        var check = EquivalenceCheck(try MethodRegistry.registration(method, source: "test"))
        let recorded = check
        check.recomputeActivations = true
        let recomputed = check
        let a = try LocalWorld.run(size: 2) { comm in try recorded.run(comm) }
        let b = try LocalWorld.run(size: 2) { comm in try recomputed.run(comm) }
        for (x, y) in zip(a, b) {
            #expect(x.loss == y.loss && x.referenceLoss == y.referenceLoss, "\(method)")
            #expect(x.gradients == y.gradients, "\(method)")
        }
    }

    @Test(arguments: [2, 4]) func aResNetWithSynchronisedBatchNormMatchesOneProcess(_ n: Int) throws {
        // ConVIRT's image encoder: BatchNorm statistics over the global batch (train.batchNorm: sync).
        var check = EquivalenceCheck(CLIPMethod.registration)
        check.model = #"{"imageEncoder": "resnet", "resnetBlocks": [1, 1, 1, 1], "resnetWidth": 4, "visionWidth": 16, "visionHeads": 2, "#
            + #""textWidth": 16, "textDepth": 1, "textHeads": 2, "embedDim": 8}"#
        let configured = check
        let outcomes = try LocalWorld.run(size: n) { comm in try configured.run(comm) }
        for o in outcomes {
            #expect(o.passes(), "loss \(o.loss) vs \(o.referenceLoss); \(o.worstParameter) differs by \(o.worstGradient)")
            #expect(o.gradients.keys.contains("resnet.stemBN.weight"))
        }
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

    @Test func reducingAfterBackwardGivesTheSameSumsAsOverlappingIt() throws {
        // Small buckets (several per model), 2 ranks with different data: one reduction after backward
        // must produce bit for bit the sums the overlapped buckets produce.
        func gradients(overlap: Bool) throws -> [[Float]] {
            try LocalWorld.run(size: 2, timeout: 10) { comm -> [Float] in
                var rng = RNG(seed: 5)
                let model = MLP(dim: 6, hidden: 8, rng: &rng)
                let ddp = try DataParallel(model: model, communicator: comm, bucketBytes: 64, overlapsBackward: overlap)
                #expect(ddp.bucketCount > 2)
                var data = RNG(seed: 6, "x", comm.rank)
                try model(Tensor.normal([4, 6], rng: &data)).square().sum().backward()
                try ddp.synchronizeGradients()
                return ddp.parameters.flatMap { $0.tensor.grad!.scalars }
            }
        }
        let overlapped = try gradients(overlap: true), after = try gradients(overlap: false)
        #expect(overlapped[0] == overlapped[1])
        #expect(after == overlapped)
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
