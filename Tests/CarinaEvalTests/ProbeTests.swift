// The linear probe learns separable labels, uses the requested fraction, and ignores unknown labels.
// Not for: zero-shot scores (ZeroShotTests).
import Testing
import CarinaEval
import CarinaNN
import Foundation

@Suite struct ProbeTests {
    /// Features whose first coordinate decides label a and second decides label b, plus noise dims.
    func data(_ n: Int, stream: Int) -> (Tensor, Tensor) {
        var rng = RNG(seed: 3, "probe-data", stream)
        let x = Tensor.normal([n, 6], rng: &rng)
        var y: [Float] = []
        for i in 0..<n { y += [x[i, 0] > 0 ? 1 : 0, x[i, 1] > 0.3 ? 1 : 0] }
        return (x, Tensor(shape: [n, 2], values: y))
    }

    @Test func probeSeparatesLinearlySeparableLabels() throws {
        let (xt, yt) = data(200, stream: 1), (xe, ye) = data(100, stream: 2)
        let r = try LinearProbe().run(trainFeatures: xt, trainLabels: yt, testFeatures: xe, testLabels: ye, classNames: ["a", "b"], fraction: 1)
        #expect(r.trainSamples == 200)
        #expect(r.metrics.macroAUC! > 0.97, "\(r.metrics.auc)")
        let small = try LinearProbe().run(trainFeatures: xt, trainLabels: yt, testFeatures: xe, testLabels: ye, classNames: ["a", "b"], fraction: 0.1)
        #expect(small.trainSamples == 20)
        #expect(small.metrics.macroAUC! > 0.8)
    }

    @Test func unknownLabelsDoNotTrainTheProbe() throws {
        let (xt, yt) = data(200, stream: 1), (xe, ye) = data(100, stream: 2)
        // Mark every label of class b unknown except where it would mislead: the probe must not learn from -1.
        var values = yt.scalars
        for i in 0..<200 { values[2 * i + 1] = -1 }
        let r = try LinearProbe().run(trainFeatures: xt, trainLabels: Tensor(shape: [200, 2], values: values), testFeatures: xe,
                                      testLabels: ye, classNames: ["a", "b"], fraction: 1)
        #expect(r.metrics.auc[0]! > 0.97)
        // With no known labels, b's weights only shrink: its scores carry no learned signal.
        #expect(abs(r.metrics.auc[1]! - 0.5) < 0.25)
    }
}
