// Multi-label evaluation: per-class ROC AUC, average precision and PsPG's trapezoidal PR-AUC, their macro
// means and the micro versions, over the entries whose label is known. Not for: single binary labels
// (BinaryMetrics), thresholded predictions (ThresholdMetrics) or confidence intervals (Bootstrap).

public struct MultiLabelMetrics: Sendable, Equatable {
    public let classNames: [String]
    /// Per class over its known labels; nil where the class has no positive or no negative (the ROC curve
    /// is undefined; scikit-learn's roc_auc_score raises).
    public let auc: [Double?]
    /// Per class over its known labels, as average_precision_score: 0 where the class has known labels
    /// but no positive (scikit-learn 1.9.1 gives 0 there), nil only where it has no known label at all.
    public let averagePrecision: [Double?]
    /// Per class, PsPG's auc(recall, precision) over precision_recall_curve; nil where no positive.
    public let prAUCTrapezoid: [Double?]
    /// Mean over the classes where AUC is defined. scikit-learn's roc_auc_score(average='macro') would
    /// raise on a class without positives or negatives; PsPG skips classes without positives. Nil if none.
    public let macroAUC: Double?
    /// Mean over the classes with a known label, a class without positives counting 0, as
    /// average_precision_score(average='macro'). Nil if no class has a known label.
    public let meanAveragePrecision: Double?
    /// Mean of prAUCTrapezoid over the classes with a positive (as PsPG's mAP); nil if none.
    public let macroPRAUCTrapezoid: Double?
    /// Every known (sample, class) entry pooled into one binary problem.
    public let microAUC: Double?
    public let microAveragePrecision: Double?

    /// scores and labels are (N, C) row-major; labels 1 positive, 0 negative, anything else (-1
    /// uncertain, NaN) unknown and left out.
    public init(scores: [Float], labels: [Float], classNames: [String]) {
        let c = classNames.count
        precondition(c > 0 && scores.count == labels.count && scores.count % c == 0,
                     "MultiLabelMetrics: \(scores.count) scores, \(labels.count) labels, \(c) classes")
        let n = scores.count / c
        self.classNames = classNames
        var auc: [Double?] = [], ap: [Double?] = [], trapezoid: [Double?] = []
        var allScores: [Float] = [], allLabels: [Bool] = []
        for j in 0..<c {
            var s: [Float] = [], y: [Bool] = []
            for i in 0..<n {
                let label = labels[i * c + j]
                guard label == 0 || label == 1 else { continue }
                s.append(scores[i * c + j])
                y.append(label == 1)
            }
            let ranking = BinaryMetrics.rankingMetrics(scores: s, labels: y)
            auc.append(ranking.auc)
            ap.append(ranking.averagePrecision)
            trapezoid.append(BinaryMetrics.prAUCTrapezoid(scores: s, labels: y))
            allScores += s
            allLabels += y
        }
        self.auc = auc
        averagePrecision = ap
        prAUCTrapezoid = trapezoid
        macroAUC = Self.mean(auc)
        meanAveragePrecision = Self.mean(ap)
        macroPRAUCTrapezoid = Self.mean(trapezoid)
        (microAUC, microAveragePrecision) = BinaryMetrics.rankingMetrics(scores: allScores, labels: allLabels)
    }

    /// Mean of the non-nil values; nil if there are none.
    static func mean(_ values: [Double?]) -> Double? {
        let defined = values.compactMap { $0 }
        return defined.isEmpty ? nil : defined.reduce(0, +) / Double(defined.count)
    }
}
