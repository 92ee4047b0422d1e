// End-to-end learning: a tiny transformer and a tiny ResNet each learn a small task, their training loss
// falling far below chance. Proves forward, backward, optimizer and layers fit together.
import Foundation
import Testing
import CarinaNN

/// Does the sequence contain token 5? Needs attention to find the token anywhere in the sequence.
final class TinySequenceClassifier: Module {
    let tokens: Embedding
    let positions: Tensor  // (T, C)
    let encoder: Transformer
    let head: Linear

    init(vocab: Int, length: Int, dim: Int, rng: inout RNG) {
        tokens = Embedding(vocab, dim, std: 0.5, rng: &rng)
        positions = Init.truncatedNormal([length, dim], std: 0.1, rng: &rng)
        encoder = Transformer(dim: dim, depth: 1, heads: 2, mlpRatio: 2, rng: &rng)
        head = Linear(dim, 2, rng: &rng)
    }

    func callAsFunction(_ ids: IndexTensor) throws -> Tensor {
        let x = try tokens(ids) + positions
        return try head(encoder(x).mean(axis: 1))  // (B, 2)
    }
}

/// In which quadrant is the bright square? 1-channel 16x16 images with noise.
final class TinyResNetClassifier: Module {
    let backbone: ResNet
    let head: Linear

    init(rng: inout RNG) {
        backbone = ResNet(kind: .basic, blocks: [1, 1], width: 8, rng: &rng)
        head = Linear(backbone.outChannels, 4, rng: &rng)
    }

    func callAsFunction(_ images: Tensor) throws -> Tensor {
        try head(backbone(images).mean(axes: [2, 3]))
    }
}

@Suite struct LearningTests {
    @Test func tinyTransformerLearnsToFindAToken() throws {
        var rng = RNG(seed: 7)
        let (vocab, length, batch) = (8, 6, 32)
        let model = TinySequenceClassifier(vocab: vocab, length: length, dim: 16, rng: &rng)
        let opt = AdamW(model.trainableParameters, learningRate: 3e-3, weightDecay: 0.01)
        var data = RNG(seed: 8, "sequences", 0)
        var losses: [Float] = []
        for _ in 0..<150 {
            var ids: [Int32] = [], labels: [Int32] = []
            for s in 0..<batch {
                var seq = (0..<length).map { _ in Int32([0, 1, 2, 3, 4, 6, 7][data.int(7)]) }
                if s % 2 == 0 { seq[data.int(length)] = 5 }
                ids += seq
                labels.append(s % 2 == 0 ? 1 : 0)
            }
            opt.zeroGrad()
            let loss = try model(IndexTensor(shape: [batch, length], values: ids)).crossEntropy(targets: labels)
            try loss.backward()
            try opt.step()
            losses.append(loss.item)
        }
        let late = losses.suffix(10).reduce(0, +) / 10
        #expect(late < 0.15, "final loss \(late) vs chance \(log(2.0))")
    }

    @Test func tinyResNetLearnsWhereTheBrightSquareIs() throws {
        var rng = RNG(seed: 9)
        let model = TinyResNetClassifier(rng: &rng)
        let opt = AdamW(model.trainableParameters, learningRate: 3e-3, weightDecay: 0)
        var data = RNG(seed: 10, "squares", 0)
        let batch = 16
        var losses: [Float] = []
        for _ in 0..<150 {
            let images = Tensor.normal([batch, 1, 16, 16], std: 0.3, rng: &data)
            var labels: [Int32] = []
            for s in 0..<batch {
                let q = data.int(4)
                labels.append(Int32(q))
                let (y0, x0) = ((q / 2) * 8 + data.int(4), (q % 2) * 8 + data.int(4))
                for y in y0..<(y0 + 4) { for x in x0..<(x0 + 4) { images[s, 0, y, x] += 2 } }
            }
            opt.zeroGrad()
            let loss = try model(images).crossEntropy(targets: labels)
            try loss.backward()
            try opt.step()
            losses.append(loss.item)
        }
        let late = losses.suffix(10).reduce(0, +) / 10
        #expect(late < 0.2, "final loss \(late) vs chance \(log(4.0))")
        // Evaluation mode uses running statistics and still classifies.
        model.eval()
        let probe = Tensor.zeros([4, 1, 16, 16])
        for q in 0..<4 { for y in 0..<4 { for x in 0..<4 { probe[q, 0, (q / 2) * 8 + 2 + y, (q % 2) * 8 + 2 + x] = 2 } } }
        let predicted = try Autograd.withoutGrad { try model(probe) }
        let argmax = (0..<4).map { r in (0..<4).max { predicted[r, $0] < predicted[r, $1] }! }
        #expect(argmax == [0, 1, 2, 3])
    }
}
