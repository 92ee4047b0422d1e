// Linear probe on frozen features: one L2-regularised logistic regression per label (trained jointly as a
// D -> C linear map with a masked BCE), on standardised features, optionally on a fraction of the
// labelled training set (1 %, 10 %, 100 % as the papers report). Not for: fine-tuning the encoder.
import CarinaNN

public struct LinearProbe: Sendable {
    /// L2 penalty λ on the weights (scikit-learn's C = 1 / (λ · N)).
    public var l2: Float = 1e-3
    public var steps = 300
    public var learningRate: Float = 0.05
    public var seed: UInt64 = 0

    public init() {}

    public struct Result: Sendable {
        public let fraction: Float
        public let trainSamples: Int
        public let metrics: MultiLabelMetrics
    }

    /// Trains on `fraction` of the rows of trainFeatures (N, D) / trainLabels (N, C) (labels 1/0, others
    /// unknown) and evaluates on the test set. The subset is a seeded random choice (at least 2 rows).
    public func run(trainFeatures: Tensor, trainLabels: Tensor, testFeatures: Tensor, testLabels: Tensor,
                    classNames: [String], fraction: Float) throws -> Result {
        let (n, d) = (trainFeatures.shape[0], trainFeatures.shape[1])
        let c = classNames.count
        guard trainLabels.shape == [n, c], testFeatures.rank == 2, testFeatures.shape[1] == d,
              testLabels.shape == [testFeatures.shape[0], c] else {
            throw TensorError.shapeMismatch(op: "linear_probe", shapes: [trainFeatures.shape, trainLabels.shape, testFeatures.shape, testLabels.shape],
                                            detail: "expected features (N, D), labels (N, \(c)) for train and test")
        }
        var rng = RNG(seed: seed, "linear-probe.subset", Int(fraction * 1e6))
        let take = Swift.min(n, Swift.max(2, Int((Float(n) * fraction).rounded())))
        let rows = Array(rng.permutation(n).prefix(take)).sorted()
        let x = try trainFeatures.indexSelect(axis: 0, rows).detached()  // (n', D)
        let y = try trainLabels.indexSelect(axis: 0, rows).detached()  // (n', C)

        // Standardise with the training subset's statistics.
        let mean = try x.mean(axis: 0, keepDims: true)
        let std = try ((x - mean).square().mean(axis: 0, keepDims: true) + 1e-6).sqrt()
        let xs = try (x - mean) / std

        var initRNG = RNG(seed: seed, "linear-probe.init")
        let probe = Linear(d, c, std: 0.01, rng: &initRNG)
        let known = Tensor(shape: y.shape, values: y.scalars.map { $0 == 0 || $0 == 1 ? 1 : 0 })
        let targets = Tensor(shape: y.shape, values: y.scalars.map { $0 == 1 ? 1 : 0 })
        let optimizer = AdamW(probe.trainableParameters, learningRate: learningRate, weightDecay: 0)
        for _ in 0..<steps {
            optimizer.zeroGrad()
            let bce = try probe(xs).binaryCrossEntropyWithLogits(targets: targets, weight: known)
            let loss = try bce + probe.weight.square().sum() * l2
            try loss.backward()
            try optimizer.step()
        }
        let scores = try Autograd.withoutGrad { try probe((testFeatures - mean) / std) }
        return Result(fraction: fraction, trainSamples: take,
                      metrics: MultiLabelMetrics(scores: scores.scalars, labels: testLabels.scalars, classNames: classNames))
    }
}
