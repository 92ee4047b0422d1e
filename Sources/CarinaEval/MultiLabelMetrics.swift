// Multi-label evaluation: per-class ROC AUC and average precision, their macro means and the micro
// versions, over the entries whose label is known. Not for: single binary labels (BinaryMetrics).

public struct MultiLabelMetrics: Sendable, Equatable {
    public let classNames: [String]
    /// Per class; nil where the class has no positive (or, for AUC, no negative) among known labels.
    public let auc: [Double?]
    public let averagePrecision: [Double?]
    /// Mean over the classes where the metric is defined (scikit-learn would raise instead); nil if none.
    public let macroAUC: Double?
    public let meanAveragePrecision: Double?
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
        var auc: [Double?] = [], ap: [Double?] = []
        var allScores: [Float] = [], allLabels: [Bool] = []
        for j in 0..<c {
            var s: [Float] = [], y: [Bool] = []
            for i in 0..<n {
                let label = labels[i * c + j]
                guard label == 0 || label == 1 else { continue }
                s.append(scores[i * c + j])
                y.append(label == 1)
            }
            auc.append(BinaryMetrics.rocAUC(scores: s, labels: y))
            ap.append(BinaryMetrics.averagePrecision(scores: s, labels: y))
            allScores += s
            allLabels += y
        }
        func mean(_ values: [Double?]) -> Double? {
            let defined = values.compactMap { $0 }
            return defined.isEmpty ? nil : defined.reduce(0, +) / Double(defined.count)
        }
        self.auc = auc
        averagePrecision = ap
        macroAUC = mean(auc)
        meanAveragePrecision = mean(ap)
        microAUC = BinaryMetrics.rocAUC(scores: allScores, labels: allLabels)
        microAveragePrecision = BinaryMetrics.averagePrecision(scores: allScores, labels: allLabels)
    }
}
