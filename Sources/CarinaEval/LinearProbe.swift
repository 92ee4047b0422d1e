// Linear probe on frozen features: per class an independent scikit-learn LogisticRegression(C) fitted on
// that class's known labels, on features standardised as StandardScaler does, optionally on a fraction of
// the training set (1 %, 10 %, 100 % as the papers report). Not for: the solver (LogisticRegression) or
// fine-tuning the encoder.
import CarinaNN

public struct LinearProbe: Sendable {
    /// Inverse L2 strength per class, scikit-learn's LogisticRegression(C=) (its default 1).
    public var C: Double = 1
    public var seed: UInt64 = 0
    /// The solver's convergence settings (see LogisticRegression).
    public var tolerance = 1e-10
    public var maxIterations = 100

    public init() {}

    /// One class's fit, in the standardised feature space: score = Σₖ coefficients[k]·(xₖ − mean[k]) /
    /// scale[k] + intercept, as scikit-learn's coef_ / intercept_ after StandardScaler.
    public struct ClassFit: Sendable, Equatable {
        public let coefficients: [Double]
        public let intercept: Double
        /// Training rows whose label of this class is known (the rows it was fitted on).
        public let knownSamples: Int
        /// True when those labels hold one value (or none): no model is fitted (scikit-learn would raise)
        /// and the class scores a constant 0, so its test AUC is 0.5 or undefined.
        public let isConstant: Bool
        public let iterations: Int
    }

    public struct Result: Sendable {
        public let fraction: Float
        public let trainSamples: Int
        /// StandardScaler's mean_ and scale_ over the training subset (population std; 1 for a constant
        /// feature).
        public let featureMean: [Double]
        public let featureScale: [Double]
        public let classes: [ClassFit]
        /// Decision values w·z + b of the test rows (N_test, C).
        public let testScores: [Float]
        public let metrics: MultiLabelMetrics
    }

    /// Trains on `fraction` of the rows of trainFeatures (N, D) / trainLabels (N, C) (labels 1/0, others
    /// unknown) and evaluates on the test set. The subset is a seeded random choice (at least 2 rows),
    /// standardised with its own mean and std; each class is then fitted on the subset's rows where its
    /// label is known. Throws when a class's fit does not converge.
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
        let features = trainFeatures.scalars, labels = trainLabels.scalars

        let (mean, scale) = Self.standardScaler(features, rows: rows, featureCount: d)
        let solver = LogisticRegression(C: C, tolerance: tolerance, maxIterations: maxIterations)
        var classes: [ClassFit] = []
        for j in 0..<c {
            var x: [Double] = [], y: [Bool] = []  // (n_j, D), (n_j,)
            for i in rows {
                let label = labels[i * c + j]
                guard label == 0 || label == 1 else { continue }
                for k in 0..<d { x.append((Double(features[i * d + k]) - mean[k]) / scale[k]) }
                y.append(label == 1)
            }
            let positives = y.filter { $0 }.count
            if positives == 0 || positives == y.count {
                classes.append(ClassFit(coefficients: [Double](repeating: 0, count: d), intercept: 0, knownSamples: y.count,
                                        isConstant: true, iterations: 0))
                continue
            }
            let fit = try solver.fit(x: x, labels: y, featureCount: d, name: classNames[j])
            classes.append(ClassFit(coefficients: fit.coefficients, intercept: fit.intercept, knownSamples: y.count,
                                    isConstant: false, iterations: fit.iterations))
        }

        let test = testFeatures.scalars, m = testFeatures.shape[0]
        var scores = [Float](repeating: 0, count: m * c)  // (N_test, C)
        for i in 0..<m {
            let z = (0..<d).map { (Double(test[i * d + $0]) - mean[$0]) / scale[$0] }
            for j in 0..<c {
                var s = classes[j].intercept
                for k in 0..<d { s += classes[j].coefficients[k] * z[k] }
                scores[i * c + j] = Float(s)
            }
        }
        return Result(fraction: fraction, trainSamples: take, featureMean: mean, featureScale: scale, classes: classes, testScores: scores,
                      metrics: MultiLabelMetrics(scores: scores, labels: testLabels.scalars, classNames: classNames))
    }

    /// StandardScaler's mean_ and scale_ of features (N, D) over `rows`: the population std (ddof 0), and 1
    /// for a (near-)constant feature, var ≤ n·ε·var + (n·mean·ε)² as scikit-learn tests it.
    static func standardScaler(_ features: [Float], rows: [Int], featureCount d: Int) -> (mean: [Double], scale: [Double]) {
        let n = Double(rows.count)
        var mean = [Double](repeating: 0, count: d), variance = [Double](repeating: 0, count: d)
        for i in rows { for k in 0..<d { mean[k] += Double(features[i * d + k]) } }
        for k in 0..<d { mean[k] /= n }
        for i in rows {
            for k in 0..<d {
                let delta = Double(features[i * d + k]) - mean[k]
                variance[k] += delta * delta
            }
        }
        let eps = Double.ulpOfOne
        let scale = (0..<d).map { k -> Double in
            let v = variance[k] / n
            let constant = v <= n * eps * v + (n * mean[k] * eps) * (n * mean[k] * eps)
            return constant ? 1 : v.squareRoot()
        }
        return (mean, scale)
    }
}
