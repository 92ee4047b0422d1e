// Losses against hand-worked values, independent scalar references and finite differences.
import Foundation
import Testing
import CarinaNN
import CarinaTestSupport

@Suite struct LossTests {
    @Test func infoNCEOnOrthonormalPairsIsHandWorked() throws {
        let e = Tensor(shape: [2, 2], values: [1, 0, 0, 1])
        // logits = I: each row's CE is log(1 + e^-1) in both directions.
        let loss = try InfoNCE.loss(image: e, text: e.copy(), scale: Tensor(1))
        #expect(abs(loss.item - Float(log(1 + exp(-1.0)))) < 1e-6)
    }

    @Test func infoNCEMatchesScalarReferenceAndFiniteDifferences() throws {
        let image = try randomTensor([5, 4], stream: 1).l2Normalized(), text = try randomTensor([5, 4], stream: 2).l2Normalized()
        let s: Float = 3.5
        let loss = try InfoNCE.loss(image: image, text: text, scale: Tensor(s)).item
        var reference = 0.0
        for direction in 0..<2 {
            let (a, b) = direction == 0 ? (image, text) : (text, image)
            for i in 0..<5 {
                let logits = (0..<5).map { j in Double(s) * (0..<4).reduce(0.0) { $0 + Double(a[i, $1]) * Double(b[j, $1]) } }
                let lse = log(logits.map(exp).reduce(0, +))
                reference += (lse - logits[i]) / 10
            }
        }
        #expect(abs(Double(loss) - reference) < 1e-5)
        try checkGradients([image.copy(), text.copy(), Tensor(s)]) { t in try InfoNCE.loss(image: t[0], text: t[1], scale: t[2]) }
    }

    @Test func localLossFormSummedOverRanksEqualsTheGlobalLoss() throws {
        // Two "ranks" with 3 rows each: each computes its rows against all 6 columns; the sum of the two
        // losses and of their gradients equals the one-process loss over all 6 rows.
        let image = randomTensor([6, 4], stream: 3), text = randomTensor([6, 4], stream: 4)
        let scale = Tensor(2.0)
        let full = try InfoNCE.loss(image: image, text: text, scale: scale)
        let parts = (0..<2).map { r in (try! image.slice(axis: 0, 3 * r, 3 * r + 3).copy(), try! text.slice(axis: 0, 3 * r, 3 * r + 3).copy()) }
        for (i, t) in parts { i.requiresGrad = true; t.requiresGrad = true }
        let allImage = try Tensor.concat(parts.map(\.0), axis: 0), allText = try Tensor.concat(parts.map(\.1), axis: 0)
        var total = Tensor(0)
        for (r, (i, t)) in parts.enumerated() {
            total = try total + InfoNCE.loss(image: i, text: t, allImage: allImage, allText: allText, rowOffset: 3 * r,
                                             globalBatch: 6, scale: scale).loss
        }
        #expect(abs(total.item - full.item) < 1e-5)
        image.requiresGrad = true
        text.requiresGrad = true
        try InfoNCE.loss(image: image, text: text, scale: scale).backward()
        try total.backward()
        let gathered = try Tensor.concat(parts.map { $0.0.grad! }, axis: 0)
        for (a, b) in zip(gathered.scalars, image.grad!.scalars) { #expect(abs(a - b) < 1e-5) }
    }

    @Test func logitScaleStartsAtOneOverPointZeroSevenAndIsClampedAtOneHundredAfterAStep() throws {
        let s = LogitScale()
        #expect(abs(s().item - 1 / 0.07) < 1e-3)
        // Past ln 100 (where a step may push it) the forward pass still has a gradient...
        s.value.assign(Tensor(6))
        let scale = s()
        try scale.backward()
        #expect(abs(s.value.grad!.item - scale.item) < 1e-2 * scale.item)
        // ... and the clamp after the step brings the parameter back to ln 100 (and up from below 0).
        s.clampToRange()
        #expect(abs(s().item - 100) < 1e-3)
        s.value.assign(Tensor(-1))
        s.clampToRange()
        #expect(s.value.item == 0)
    }

    @Test func asymmetricLossIsHandWorked() throws {
        // x = 0 everywhere: positive: -(1 - 0.5)^1 log 0.5; negative: p⁻ = 0.55, -(0.45)^2 log 0.55; uncertain: 0.
        let x = Tensor(shape: [1, 3], values: [0, 0, 0])
        x.requiresGrad = true
        let y = Tensor(shape: [1, 3], values: [1, 0, -1])
        let loss = try AsymmetricLoss.loss(logits: x, labels: y)
        #expect(abs(loss.item - Float(0.5 * log(2.0) - 0.2025 * log(0.55))) < 1e-6)
        try loss.backward()
        // Focusing weight without gradient: d/dx = -w(1 - p) for a positive, w p(1 - p)/p⁻ for a negative.
        #expect(abs(x.grad![0, 0] - -0.25) < 1e-6)
        #expect(abs(x.grad![0, 1] - 0.2025 * 0.25 / 0.55) < 1e-6)
        #expect(x.grad![0, 2] == 0)
        #expect(y.scalars == [1, 0, -1])  // labels are not modified
        let mean = try AsymmetricLoss.loss(logits: x.detached(), labels: y, reduction: .mean)
        #expect(abs(mean.item - loss.item / 2) < 1e-6)
    }

    @Test func asymmetricLossMatchesScalarReference() throws {
        let x = randomTensor([4, 5], -4, 4, stream: 5)
        let y = Tensor(shape: [4, 5], values: (0..<20).map { Float([1, 0, 0, -1, 1][$0 % 5]) })
        let loss = try AsymmetricLoss.loss(logits: x, labels: y, gammaPositive: 0.5, gammaNegative: 3, clip: 0.1).item
        var reference = 0.0
        for i in 0..<20 where y.pointer[i] != -1 {
            let p = 1 / (1 + exp(-Double(x.pointer[i]))), pos = y.pointer[i] == 1
            let pn = min(1 - p + 0.1, 1)
            let l = pos ? log(max(p, 1e-6)) : log(max(pn, 1e-6))
            let pt = pos ? p : pn
            reference -= pow(1 - pt, pos ? 0.5 : 3) * l
        }
        #expect(abs(Double(loss) - reference) < 1e-4 * max(1, abs(reference)))
        // With the focusing weight inside the graph, the whole expression is differentiable.
        try checkGradients([x.copy()]) { t in
            try AsymmetricLoss.loss(logits: t[0], labels: y, gammaPositive: 0.5, gammaNegative: 3, clip: 0.1, focusingGradient: true)
        }
    }

    @Test func asymmetricLossRejectsUnknownLabels() {
        #expect(throws: TensorError.self) {
            try AsymmetricLoss.loss(logits: Tensor.zeros([1, 2]), labels: Tensor(shape: [1, 2], values: [1, 0.5]))
        }
    }

    @Test func pairCooccurrenceLossIsHandWorked() throws {
        let y = Tensor(shape: [2, 3], values: [1, 1, 0, 0, 1, 1])
        // pairs (0,1) (0,2) (1,2): co-occur in sample 0, never, in sample 1
        let q = Tensor(shape: [2, 3], values: [0, 1, -1, 2, -3, 0])
        let loss = try PairCooccurrenceLoss.loss(pairLogits: q, labels: y)
        let expected = (log(1 + exp(-2.0)) + log(1 + exp(1.0)) + log(2.0)) / 3
        #expect(abs(Double(loss.item) - expected) < 1e-6)
        #expect(PairCooccurrenceLoss.pairs(classes: 14).count == 91)
        try checkGradients([q.copy()]) { t in try PairCooccurrenceLoss.loss(pairLogits: t[0], labels: y) }
    }

    @Test func softPairTargetsAreJaccardOverTheBatch() throws {
        // pairs (0,1): both in images 0 and 2 of 3 with either -> 2/3; (0,2): image 2 unknown for class 2,
        // both in image 1 of 2 -> 1/2; (1,2): never both -> 0. Binary targets: 1, 1, 0.
        let y = Tensor(shape: [3, 3], values: [1, 1, 0, 1, 0, 1, 1, 1, -1])
        let q = Tensor(shape: [3, 3], values: [1, -1, 0, 0, 2, -2, -1, 0, 0.5])  // batch maxima 1, 2, 0.5
        func bce(_ z: Double, _ t: Double) -> Double { log(1 + exp(z)) - t * z }
        let soft = try PairCooccurrenceLoss.loss(pairLogits: q, labels: y, target: .soft).item
        #expect(abs(Double(soft) - (bce(1, 2.0 / 3) + bce(2, 0.5) + bce(0.5, 0)) / 3) < 1e-6)
        let binary = try PairCooccurrenceLoss.loss(pairLogits: q, labels: y, target: .binary).item
        #expect(abs(Double(binary) - (bce(1, 1) + bce(2, 1) + bce(0.5, 0)) / 3) < 1e-6)
        #expect(y.scalars == [1, 1, 0, 1, 0, 1, 1, 1, -1])
        try checkGradients([q.copy()]) { t in try PairCooccurrenceLoss.loss(pairLogits: t[0], labels: y, target: .soft) }
    }

    @Test func rankingLossIsHandWorked() throws {
        // Known entries 0 (positive, 0.9), 1 (negative, 0.2), 2 (positive, 0.6); entry 3 unknown. N = 3:
        // (max(0, 1 - 0.7) + max(0, 1 - 0.4)) / 3 = 0.3.
        let x = Tensor(shape: [2, 2], values: [0.9, 0.2, 0.6, 0.4])
        x.requiresGrad = true
        let y = Tensor(shape: [2, 2], values: [1, 0, 1, -1])
        let loss = try RankingLoss.loss(probabilities: x, labels: y)
        #expect(abs(loss.item - 0.3) < 1e-6)
        try loss.backward()
        for (g, e) in zip(x.grad!.scalars, [-1.0 / 3, 2.0 / 3, -1.0 / 3, 0]) { #expect(abs(Double(g) - e) < 1e-6) }
        // A margin already met costs nothing; no positive, no loss.
        #expect(try RankingLoss.loss(probabilities: Tensor(shape: [1, 2], values: [1, 0]), labels: Tensor(shape: [1, 2], values: [1, 0])).item == 0)
        #expect(try RankingLoss.loss(probabilities: Tensor(shape: [1, 2], values: [0.3, 0.1]), labels: Tensor(shape: [1, 2], values: [0, 0])).item == 0)
        try checkGradients([randomTensor([3, 4], 0, 1, stream: 8)]) { t in
            try RankingLoss.loss(probabilities: t[0], labels: Tensor(shape: [3, 4], values: (0..<12).map { Float([1, 0, 0, -1, 0, 1][$0 % 6]) }))
        }
    }

    @Test func maskedMSECountsOnlyMaskedRows() throws {
        let p = Tensor(shape: [1, 2, 2], values: [1, 2, 3, 4])
        let loss = try MaskedMSE.loss(prediction: p, target: .zeros([1, 2, 2]), mask: Tensor(shape: [1, 2], values: [0, 1]))
        #expect(loss.item == 12.5)
        let mask = Tensor(shape: [2, 3], values: [1, 0, 1, 0, 0, 1])
        try checkGradients([randomTensor([2, 3, 4])]) { t in try MaskedMSE.loss(prediction: t[0], target: randomTensor([2, 3, 4], stream: 9), mask: mask) }
    }
}
