// Optimizers and schedules against updates computed by hand from PyTorch's formulas.
import Testing
import CarinaNN

@Suite struct OptimizerTests {
    /// A 2-D parameter (weight decay applies) with a fixed gradient.
    func weight(_ values: [Float], grad: [Float]) -> NamedParameter {
        let t = Tensor(shape: [1, values.count], values: values, requiresGrad: true)
        t.grad = Tensor(shape: [1, grad.count], values: grad)
        return NamedParameter(name: "w", tensor: t, decays: true)
    }

    func close(_ a: [Float], _ b: [Float], _ tol: Float = 1e-5) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tol }
    }

    @Test func adamWMatchesHandComputedSteps() throws {
        let p = weight([1, -2], grad: [0.5, -1])
        let opt = AdamW([p], learningRate: 0.1, betas: (0.9, 0.999), eps: 1e-8, weightDecay: 0.1)
        try opt.step()
        // p·(1 - 0.01), then m̂/√v̂ = sign(g): a step of lr against the gradient.
        #expect(close(p.tensor.scalars, [0.89, -1.88]))
        try opt.step()
        // m = 0.095, -0.19; v = 0.00049975, 0.001999; m̂/√v̂ = 0.5/0.5, -1/1; lr/bc1 = 0.1/0.19.
        #expect(close(p.tensor.scalars, [0.89 * 0.99 - 0.1, -1.88 * 0.99 + 0.1]))
        #expect(opt.stepCount == 2)
        #expect(opt.state.map(\.name) == ["exp_avg.w", "exp_avg_sq.w", "step"])
        #expect(close(opt.state[0].tensor.scalars, [0.095, -0.19]))
    }

    @Test func adamWSkipsDecayForExemptParametersAndParametersWithoutGradient() throws {
        let bias = NamedParameter(name: "b", tensor: Tensor(shape: [1], values: [1], requiresGrad: true), decays: false)
        bias.tensor.grad = Tensor(shape: [1], values: [0])
        let unused = NamedParameter(name: "u", tensor: Tensor(shape: [1], values: [3], requiresGrad: true), decays: true)
        let opt = AdamW([bias, unused], learningRate: 0.1, weightDecay: 0.5)
        try opt.step()
        #expect(bias.tensor.scalars == [1])  // zero gradient, no decay
        #expect(unused.tensor.scalars == [3])  // no gradient this step
    }

    @Test func fusedAdamWMatchesScalarUpdateOnOddLengths() throws {
        for n in [1, 7, 8, 9, 37] {
            let values = (0..<n).map { Float($0) * 0.3 - 2 }, grads = (0..<n).map { Float(($0 * 7) % 5) - 2 }
            let p = weight(values, grad: grads)
            let opt = AdamW([p], learningRate: 0.01, betas: (0.8, 0.99), eps: 1e-6, weightDecay: 0.2)
            try opt.step()
            let expected = zip(values, grads).map { w, g -> Float in
                let m = 0.2 * g, v = 0.01 * g * g
                return w * (1 - 0.01 * 0.2) - (0.01 / 0.2) * m / ((v / 0.01).squareRoot() + 1e-6)
            }
            #expect(close(p.tensor.scalars, expected))
        }
    }

    /// The update is split over the threads across parameters (one share of all their elements each, cut
    /// inside a parameter): 1, 2 and 3 threads give the same parameters and moments, bit for bit, over
    /// parameters of odd sizes with and without decay and with their own rate scales (110 029 values: at
    /// least 32 768 a share, so 2 and 3 threads do split them, the cuts inside the first and last parameter).
    @Test func adamWGivesTheSameBitsOnAnyThreadCount() throws {
        func run(threads: Int) throws -> [[UInt32]] {
            let saved = Parallel.threads
            Parallel.threads = threads
            defer { Parallel.threads = saved }
            let specs: [(count: Int, decays: Bool, scale: Float)] = [(40_001, true, 1), (17, false, 0.5), (70_011, true, 2)]
            var params: [NamedParameter] = []
            for (k, spec) in specs.enumerated() {
                let values: [Float] = (0..<spec.count).map { i in Float((i * 37 + k * 11) % 101) / 50 - 1 }
                let grads: [Float] = (0..<spec.count).map { i in Float((i * 53 + k * 7) % 97) / 480 - 0.1 }
                let t = Tensor(shape: [spec.count], values: values, requiresGrad: true)
                t.grad = Tensor(shape: [spec.count], values: grads)
                params.append(NamedParameter(name: "p\(k)", tensor: t, decays: spec.decays, learningRateScale: spec.scale))
            }
            let opt = AdamW(params, learningRate: 0.01, betas: (0.9, 0.99), eps: 1e-6, weightDecay: 0.1)
            try opt.step()
            try opt.step()
            return params.map { $0.tensor.scalars.map(\.bitPattern) } + opt.state.map { $0.tensor.scalars.map(\.bitPattern) }
        }
        let one = try run(threads: 1)
        for threads in [2, 3] {
            let many = try run(threads: threads)
            var differing = 0
            for (a, b) in zip(one, many) { differing += zip(a, b).filter { $0.0 != $0.1 }.count }
            #expect(differing == 0, "\(threads) threads: \(differing) values differ from one thread's")
        }
    }

    @Test func sgdMomentumNesterovAndWeightDecay() throws {
        let plain = weight([0], grad: [1])
        let momentum = SGD([plain], learningRate: 0.1, momentum: 0.9)
        try momentum.step()
        try momentum.step()
        #expect(close(plain.tensor.scalars, [-0.29]))  // buf 1 then 1.9
        let nest = weight([0], grad: [1])
        let nesterov = SGD([nest], learningRate: 0.1, momentum: 0.9, nesterov: true)
        try nesterov.step()
        try nesterov.step()
        #expect(close(nest.tensor.scalars, [-0.461]))  // d = 1.9, then 2.71
        let decayed = weight([2], grad: [0])
        try SGD([decayed], learningRate: 0.1, weightDecay: 0.5).step()
        #expect(close(decayed.tensor.scalars, [1.9]))
    }

    @Test func warmupCosineSchedule() {
        let s = LearningRateSchedule(baseLR: 1, warmupSteps: 2, totalSteps: 6, minLR: 0.1)
        let lrs = (0..<8).map { s.learningRate(at: $0) }
        #expect(close(lrs, [0.5, 1, 1, 0.1 + 0.9 * 0.853_553_4, 0.55, 0.1 + 0.9 * 0.146_446_6, 0.1, 0.1]))
    }

    @Test func warmupFromAStartRateThenLinearOrConstant() {
        let linear = LearningRateSchedule(baseLR: 1, warmupSteps: 4, totalSteps: 8, minLR: 0.2, warmupStartLR: 0.2, decay: .linear)
        #expect(close((0..<10).map { linear.learningRate(at: $0) }, [0.4, 0.6, 0.8, 1, 1, 0.8, 0.6, 0.4, 0.2, 0.2]))
        let constant = LearningRateSchedule(baseLR: 0.5, warmupSteps: 0, totalSteps: 8, decay: .constant)
        #expect(close((0..<3).map { constant.learningRate(at: $0) }, [0.5, 0.5, 0.5]))
    }

    @Test func learningRateScaleMultipliesTheRatePerParameter() throws {
        let slow = weight([0], grad: [1]), fast = NamedParameter(name: "head", tensor: Tensor(shape: [1, 1], values: [0], requiresGrad: true),
                                                                 decays: true, learningRateScale: 5)
        fast.tensor.grad = Tensor(shape: [1, 1], values: [1])
        try SGD([slow, fast], learningRate: 0.1).step()
        #expect(close(slow.tensor.scalars, [-0.1]) && close(fast.tensor.scalars, [-0.5]))
    }

    @Test func inactiveParametersKeepTheirValuesMomentsAndStepCounts() throws {
        let used = weight([1], grad: [1])
        let unused = NamedParameter(name: "u", tensor: Tensor(shape: [1, 1], values: [2], requiresGrad: true), decays: true)
        unused.tensor.grad = Tensor(shape: [1, 1], values: [1])
        let opt = AdamW([used, unused], learningRate: 0.1, weightDecay: 0.5)
        try opt.step(active: [true, false])
        #expect(unused.tensor.scalars == [2])  // no update, no decay
        let state = Dictionary(uniqueKeysWithValues: opt.state.map { ($0.name, $0.tensor.scalars) })
        #expect(close(state["exp_avg.w"]!, [0.1]) && state["exp_avg.u"] == [0] && state["step"] == [1, 0])
        // Its first update later is a first step: bias-corrected as t = 1 (|Δ| = lr·(1 + decay term)).
        try opt.step(active: [false, true])
        #expect(close(unused.tensor.scalars, [2 * (1 - 0.05) - 0.1]))
        #expect(opt.state.first { $0.name == "step" }!.tensor.scalars == [1, 1])
    }

    @Test func clippingScalesToTheMaximumGlobalNorm() {
        let a = weight([0], grad: [3]), b = weight([0], grad: [4])
        let norm = clipGradientNorm([a, b], maxNorm: 1)
        #expect(abs(norm - 5) < 1e-6)
        #expect(close(a.tensor.grad!.scalars + b.tensor.grad!.scalars, [0.6, 0.8]))
        #expect(clipGradientNorm([a, b], maxNorm: 10) < 1.0001)  // under the limit: unchanged
        #expect(close(a.tensor.grad!.scalars, [0.6]))
    }
}
