// Activation recomputation (Autograd.recomputed, TransformerBlock.recomputesActivations): the same outputs
// and gradients bit for bit as the recorded graph, gradient-ready hooks fired once with the finished
// gradient, gradients against finite differences through a recomputed segment, and plain evaluation when
// nothing needs a gradient.
import Foundation
import Testing
import CarinaNN
import CarinaTestSupport

@Suite struct RecomputeTests {
    /// Output, input gradients and every parameter gradient of `forward` with `block` recorded and recomputed.
    func compare(_ blocks: [TransformerBlock], inputs: [Tensor], _ forward: ([Tensor]) throws -> Tensor) throws {
        func pass(_ recompute: Bool) throws -> (out: [Float], grads: [[Float]]) {
            for b in blocks { b.recomputesActivations = recompute }
            let leaves = inputs.map { x -> Tensor in let l = x.copy(); l.requiresGrad = true; return l }
            for b in blocks { for p in b.namedParameters { p.tensor.grad = nil } }
            let out = try forward(leaves)
            // A weighted sum, so every output element has its own gradient.
            let weights = randomTensor(out.shape, stream: 9)
            try (out * weights).sum().backward()
            let grads = leaves.map { $0.grad?.scalars ?? [] } + blocks.flatMap { $0.namedParameters.map { $0.tensor.grad?.scalars ?? [] } }
            return (out.scalars, grads)
        }
        let recorded = try pass(false), recomputed = try pass(true)
        #expect(recorded.out == recomputed.out)
        #expect(recorded.grads.allSatisfy { !$0.isEmpty })
        #expect(recorded.grads == recomputed.grads)
    }

    @Test func preNormBlocksWithCrossAttentionAndPaddingGiveTheSameGradients() throws {
        var rng = RNG(seed: 21)
        let blocks = (0..<3).map { _ in TransformerBlock(dim: 8, heads: 2, mlpRatio: 2, contextDim: 6, rng: &rng) }
        let pad = Tensor(shape: [2, 4], values: [1, 1, 1, 0, 1, 1, 1, 1])
        try compare(blocks, inputs: [randomTensor([2, 5, 8], stream: 1), randomTensor([2, 4, 6], stream: 2)]) { t in
            var h = t[0]
            for b in blocks { h = try b(h, causal: true, context: t[1], contextPadding: pad) }
            return h
        }
    }

    /// A block attending across to its own input: the input is passed twice and gets both gradients.
    @Test func aBlockWhoseContextIsItsInputGetsBothGradients() throws {
        var rng = RNG(seed: 26)
        let block = TransformerBlock(dim: 8, heads: 2, mlpRatio: 2, contextDim: 8, rng: &rng)
        try compare([block], inputs: [randomTensor([2, 4, 8], stream: 10)]) { t in try block(t[0], context: t[0]) }
    }

    @Test func postNormBlocksWithKeyPaddingGiveTheSameGradients() throws {
        var rng = RNG(seed: 22)
        let blocks = (0..<2).map { _ in TransformerBlock(dim: 8, heads: 4, postNorm: true, rng: &rng) }
        let pad = Tensor(shape: [2, 5], values: [1, 1, 1, 0, 0, 1, 1, 1, 1, 1])
        try compare(blocks, inputs: [randomTensor([2, 5, 8], stream: 3)]) { t in
            try blocks[1](blocks[0](t[0], keyPadding: pad), keyPadding: pad)
        }
    }

    @Test func gradientsThroughARecomputedSegmentMatchFiniteDifferences() throws {
        var rng = RNG(seed: 23)
        let block = TransformerBlock(dim: 8, heads: 2, mlpRatio: 2, contextDim: 6, rng: &rng)
        block.recomputesActivations = true
        let x = randomTensor([2, 3, 8], stream: 4), ctx = randomTensor([2, 4, 6], stream: 5)
        try checkGradients([x, ctx, block.attn.qkv.weight, block.crossAttn!.value.weight, block.mlp.fc2.bias!]) { t in
            try block(t[0], context: t[1])
        }
    }

    /// Each parameter's hook fires once, after backward has finished its gradient (the data-parallel
    /// buckets reduce from these hooks during backward).
    @Test func gradientHooksFireOnceWithTheFinishedGradient() throws {
        var rng = RNG(seed: 24)
        let blocks = (0..<3).map { _ in TransformerBlock(dim: 8, heads: 2, mlpRatio: 2, rng: &rng) }
        for b in blocks { b.recomputesActivations = true }
        let parameters = blocks.flatMap { $0.namedParameters.map(\.tensor) }
        final class Record: @unchecked Sendable {  // hooks run on the thread calling backward
            var calls = 0
            var seen: [ObjectIdentifier: [Float]] = [:]
        }
        let record = Record()
        for p in parameters {
            p.onGradReady = { t in
                record.calls += 1
                record.seen[ObjectIdentifier(t)] = t.grad?.scalars ?? []
            }
        }
        defer { for p in parameters { p.onGradReady = nil } }
        var h = randomTensor([2, 4, 8], stream: 6)
        for b in blocks { h = try b(h) }
        try (h * randomTensor(h.shape, stream: 7)).sum().backward()
        #expect(record.calls == parameters.count)
        for p in parameters { #expect(record.seen[ObjectIdentifier(p)] == p.grad?.scalars, "\(p.name ?? "?")") }
    }

    @Test func withoutGradientsTheBodyRunsPlainlyAndRecordsNothing() throws {
        var rng = RNG(seed: 25)
        let block = TransformerBlock(dim: 8, heads: 2, rng: &rng)
        block.recomputesActivations = true
        let x = randomTensor([1, 3, 8], stream: 8)
        let evaluated = try Autograd.withoutGrad { try block(x) }
        #expect(!evaluated.requiresGrad)
        block.recomputesActivations = false
        #expect(try Autograd.withoutGrad { try block(x) }.scalars == evaluated.scalars)
        // A frozen block on an input needing no gradient: nothing to recompute for.
        block.freeze()
        block.recomputesActivations = true
        #expect(try !block(x).requiresGrad)
    }
}
