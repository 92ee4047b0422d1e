// Metrics of thresholded multi-label predictions (prediction = score > threshold), per class over its
// known labels and averaged as scikit-learn's precision/recall/f1_score(zero_division=0),
// accuracy_score and matthews_corrcoef do. Not for: ranking metrics (MultiLabelMetrics) or single-label
// multi-class predictions (MultiClassMetrics).

public struct ThresholdMetrics: Sendable, Equatable {
    /// One class's confusion counts over its known labels and the metrics scikit-learn computes from them
    /// (0 where a ratio is undefined, as zero_division=0 and matthews_corrcoef do).
    public struct Counts: Sendable, Equatable {
        public var truePositives = 0, falsePositives = 0, falseNegatives = 0, trueNegatives = 0

        public var known: Int { truePositives + falsePositives + falseNegatives + trueNegatives }
        public var precision: Double { Self.ratio(truePositives, truePositives + falsePositives) }
        public var recall: Double { Self.ratio(truePositives, truePositives + falseNegatives) }
        /// 2·TP / (2·TP + FP + FN), as f1_score computes it.
        public var f1: Double { Self.ratio(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives) }
        public var accuracy: Double { Self.ratio(truePositives + trueNegatives, known) }
        /// matthews_corrcoef's formula over the 2 x 2 confusion matrix (its covariance form), 0 when a
        /// variance is 0 (a constant label or prediction).
        public var mcc: Double {
            let n = Double(known)
            let truth = (Double(trueNegatives + falsePositives), Double(truePositives + falseNegatives))  // (t0, t1)
            let predicted = (Double(trueNegatives + falseNegatives), Double(truePositives + falsePositives))  // (p0, p1)
            let correct = Double(truePositives + trueNegatives)
            let covTP = correct * n - (truth.0 * predicted.0 + truth.1 * predicted.1)
            let covPP = n * n - (predicted.0 * predicted.0 + predicted.1 * predicted.1)
            let covTT = n * n - (truth.0 * truth.0 + truth.1 * truth.1)
            let product = covPP * covTT
            return product == 0 ? 0 : covTP / product.squareRoot()
        }

        static func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }

        mutating func add(label: Bool, predicted: Bool) {
            switch (label, predicted) {
            case (true, true): truePositives += 1
            case (false, true): falsePositives += 1
            case (true, false): falseNegatives += 1
            case (false, false): trueNegatives += 1
            }
        }
    }

    public let classNames: [String]
    public let threshold: Float
    /// Per class; nil where the class has no known label (left out of every mean below).
    public let perClass: [Counts?]
    /// Means over the classes with a known label of their precision, recall, F1 (0 where undefined), as
    /// precision/recall/f1_score(average='macro', zero_division=0). Nil if no class has a known label.
    public let macroPrecision: Double?
    public let macroRecall: Double?
    public let macroF1: Double?
    /// Counts pooled over every known entry, as average='micro'.
    public let micro: Counts
    /// Mean over classes of accuracy_score on the class's known labels.
    public let accuracy: Double?
    /// Mean over classes of matthews_corrcoef on the class's known labels (0 where undefined).
    public let mcc: Double?

    public var microPrecision: Double { micro.precision }
    public var microRecall: Double { micro.recall }
    public var microF1: Double { micro.f1 }

    /// scores and labels are (N, C) row-major; labels 1 positive, 0 negative, anything else unknown.
    public init(scores: [Float], labels: [Float], classNames: [String], threshold: Float = 0.5) {
        let c = classNames.count
        precondition(c > 0 && scores.count == labels.count && scores.count % c == 0,
                     "ThresholdMetrics: \(scores.count) scores, \(labels.count) labels, \(c) classes")
        let n = scores.count / c
        var perClass = [Counts](repeating: Counts(), count: c)
        for i in 0..<n {
            for j in 0..<c {
                let label = labels[i * c + j]
                guard label == 0 || label == 1 else { continue }
                perClass[j].add(label: label == 1, predicted: scores[i * c + j] > threshold)
            }
        }
        var micro = Counts()
        for k in perClass {
            micro.truePositives += k.truePositives
            micro.falsePositives += k.falsePositives
            micro.falseNegatives += k.falseNegatives
            micro.trueNegatives += k.trueNegatives
        }
        self.classNames = classNames
        self.threshold = threshold
        self.perClass = perClass.map { $0.known > 0 ? $0 : nil }
        self.micro = micro
        let defined = perClass.filter { $0.known > 0 }
        macroPrecision = MultiLabelMetrics.mean(defined.map(\.precision))
        macroRecall = MultiLabelMetrics.mean(defined.map(\.recall))
        macroF1 = MultiLabelMetrics.mean(defined.map(\.f1))
        accuracy = MultiLabelMetrics.mean(defined.map(\.accuracy))
        mcc = MultiLabelMetrics.mean(defined.map(\.mcc))
    }
}
