// Zero-shot scores: the logits are the scaled similarity margin, the probabilities their sigmoid, and
// ranking by the logits avoids the ties Float32 saturation makes. Not for: the probe (ProbeTests).
import Testing
import CarinaEval
import CarinaNN
import Foundation

@Suite struct ZeroShotTests {
    @Test func zeroShotIsTheSigmoidOfTheScaledMargin() throws {
        let img = Tensor(shape: [1, 2], values: [1, 0])
        let pos = Tensor(shape: [1, 2], values: [0.6, 0.8]), neg = Tensor(shape: [1, 2], values: [0, 1])
        let p = try ZeroShot.probabilities(images: img, positive: pos, negative: neg, scale: 10)
        #expect(abs(p.item - 1 / (1 + Float(exp(-6.0)))) < 1e-6)
        #expect(abs(try ZeroShot.logits(images: img, positive: pos, negative: neg, scale: 10).item - 6) < 1e-5)
        #expect(ZeroShot.prompts(for: "Pleural Effusion") == ("pleural effusion is observed", "no pleural effusion"))
        #expect(ZeroShot.prompts(for: "Edema", templates: ("Findings suggesting {}.", "No evidence of {}.")) == ("Findings suggesting edema.", "No evidence of edema."))
    }

    @Test func logitsKeepTheOrderThatSaturatedProbabilitiesTie() throws {
        // Margins 0.2 and 0.25 at scale 100: logits 20 and 25, both sigmoids exactly 1.0 in Float32.
        let images = Tensor(shape: [2, 2], values: [0.2, 0, 0.25, 0])
        let pos = Tensor(shape: [1, 2], values: [1, 0]), neg = Tensor(shape: [1, 2], values: [0, 0])
        let p = try ZeroShot.probabilities(images: images, positive: pos, negative: neg, scale: 100).scalars
        let z = try ZeroShot.logits(images: images, positive: pos, negative: neg, scale: 100).scalars
        #expect(p == [1, 1])
        // The second image is the positive one: the tie costs half the AUC, the logits rank it exactly.
        #expect(BinaryMetrics.rocAUC(scores: p, labels: [false, true]) == 0.5)
        #expect(BinaryMetrics.rocAUC(scores: z, labels: [false, true]) == 1)
    }
}
