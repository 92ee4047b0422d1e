// The linear probe learns separable labels, uses the requested fraction, fits each class only on its
// known labels, and reports a class it cannot fit. Not for: equality with scikit-learn
// (ProbeReferenceTests) or zero-shot scores (ZeroShotTests).
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
        #expect(r.trainSamples == 200 && r.classes.map(\.knownSamples) == [200, 200])
        #expect(r.metrics.macroAUC! > 0.97, "\(r.metrics.auc)")
        let small = try LinearProbe().run(trainFeatures: xt, trainLabels: yt, testFeatures: xe, testLabels: ye, classNames: ["a", "b"], fraction: 0.1)
        #expect(small.trainSamples == 20 && small.classes.map(\.knownSamples) == [20, 20])
        #expect(small.metrics.macroAUC! > 0.8)
    }

    @Test func unknownLabelsDoNotTrainTheProbe() throws {
        let (xt, yt) = data(200, stream: 1), (xe, ye) = data(100, stream: 2)
        // Every label of class b unknown: b is fitted on nothing and scores a constant (AUC exactly 0.5),
        // while a, fitted on its own known labels, is unaffected.
        var values = yt.scalars
        for i in 0..<200 { values[2 * i + 1] = -1 }
        let r = try LinearProbe().run(trainFeatures: xt, trainLabels: Tensor(shape: [200, 2], values: values), testFeatures: xe,
                                      testLabels: ye, classNames: ["a", "b"], fraction: 1)
        let full = try LinearProbe().run(trainFeatures: xt, trainLabels: yt, testFeatures: xe, testLabels: ye, classNames: ["a", "b"], fraction: 1)
        #expect(r.metrics.auc[0]! > 0.97 && r.classes[0] == full.classes[0])
        #expect(r.classes[1].isConstant && r.classes[1].knownSamples == 0 && r.metrics.auc[1] == 0.5)
        // Half of a's labels unknown: a is fitted on exactly the other half.
        var half = yt.scalars
        for i in stride(from: 0, to: 200, by: 2) { half[2 * i] = -1 }
        let h = try LinearProbe().run(trainFeatures: xt, trainLabels: Tensor(shape: [200, 2], values: half), testFeatures: xe,
                                      testLabels: ye, classNames: ["a", "b"], fraction: 1)
        #expect(h.classes[0].knownSamples == 100 && h.classes[1] == full.classes[1])
    }

    @Test func aClassWithOneLabelValueScoresAConstant() throws {
        let (xt, yt) = data(50, stream: 3), (xe, ye) = data(30, stream: 4)
        var values = yt.scalars
        for i in 0..<50 { values[2 * i + 1] = 0 }  // b: all known, all negative
        let r = try LinearProbe().run(trainFeatures: xt, trainLabels: Tensor(shape: [50, 2], values: values), testFeatures: xe,
                                      testLabels: ye, classNames: ["a", "b"], fraction: 1)
        #expect(r.classes[1].isConstant && r.classes[1].knownSamples == 50 && r.classes[1].coefficients.allSatisfy { $0 == 0 })
        #expect(r.metrics.auc[1] == 0.5 && !r.classes[0].isConstant)
    }

    @Test func aFitThatDoesNotConvergeIsAnErrorNamingTheClass() throws {
        let (xt, yt) = data(50, stream: 3)
        var probe = LinearProbe()
        probe.maxIterations = 1
        #expect {
            try probe.run(trainFeatures: xt, trainLabels: yt, testFeatures: xt, testLabels: yt, classNames: ["Edema", "b"], fraction: 1)
        } throws: { error in
            guard case let .probeDidNotConverge(name, iterations, _, _)? = error as? EvalError else { return false }
            return name == "Edema" && iterations == 1 && "\(error)".contains("Edema")
        }
    }
}
