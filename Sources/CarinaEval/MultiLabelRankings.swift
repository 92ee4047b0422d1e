// A multi-label score matrix prepared for resampling: each class's known entries and the pooled known
// entries sorted once (WeightedRanking), then per-class AUC and AP, macro AUC, micro AUC and mAP of any
// weighting of the samples. Not for: drawing the resamples or percentiles (Bootstrap).

public struct MultiLabelRankings: Sendable {
    public let sampleCount: Int
    let classes: [WeightedRanking]
    let pooled: WeightedRanking

    /// The metrics of one weighting of the samples, with MultiLabelMetrics' rules: per-class AUC nil
    /// where undefined and left out of the macro mean; per-class AP 0 without a positive, nil without a
    /// drawn known label; mAP the mean of the non-nil APs.
    public struct Metrics: Sendable, Equatable {
        public let auc: [Double?]
        public let averagePrecision: [Double?]
        public let macroAUC: Double?
        public let microAUC: Double?
        public let meanAveragePrecision: Double?
    }

    /// scores and labels (N, C) row-major; labels 1 positive, 0 negative, anything else unknown.
    public init(scores: [Float], labels: [Float], classCount c: Int) {
        precondition(c > 0 && scores.count == labels.count && scores.count % c == 0,
                     "MultiLabelRankings: \(scores.count) scores, \(labels.count) labels, \(c) classes")
        let n = scores.count / c
        sampleCount = n
        var classes: [WeightedRanking] = []
        var allScores: [Float] = [], allLabels: [Bool] = [], allRows: [Int] = []
        for j in 0..<c {
            var s: [Float] = [], y: [Bool] = [], rows: [Int] = []
            for i in 0..<n {
                let label = labels[i * c + j]
                guard label == 0 || label == 1 else { continue }
                s.append(scores[i * c + j])
                y.append(label == 1)
                rows.append(i)
            }
            classes.append(WeightedRanking(scores: s, labels: y, rows: rows))
            allScores += s
            allLabels += y
            allRows += rows
        }
        self.classes = classes
        pooled = WeightedRanking(scores: allScores, labels: allLabels, rows: allRows)
    }

    /// The metrics with sample i counted multiplicity[i] times (N,).
    public func metrics(multiplicity: [Int32]) -> Metrics {
        precondition(multiplicity.count == sampleCount, "MultiLabelRankings: \(multiplicity.count) weights for \(sampleCount) samples")
        return multiplicity.withUnsafeBufferPointer { w in
            let perClass = classes.map { $0.metrics(multiplicity: w) }
            let auc = perClass.map(\.auc), ap = perClass.map(\.averagePrecision)
            return Metrics(auc: auc, averagePrecision: ap, macroAUC: MultiLabelMetrics.mean(auc),
                           microAUC: pooled.metrics(multiplicity: w).auc, meanAveragePrecision: MultiLabelMetrics.mean(ap))
        }
    }
}
