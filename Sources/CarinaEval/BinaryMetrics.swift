// Ranking metrics of one binary label: ROC AUC, average precision and PsPG's trapezoidal PR-AUC, computed
// exactly as scikit-learn 1.9.1 does (ties in score grouped into one threshold). Not for: several classes
// or masks (MultiLabelMetrics), resampling (WeightedRanking) or retrieval (Retrieval).

public enum BinaryMetrics {
    /// The (score, label) pairs sorted by score, highest first, grouped by equal score: for each distinct
    /// score, the number of positives and negatives that have it (the trapezoidal PR curve's points).
    static func thresholdGroups(scores: [Float], labels: [Bool]) -> [(positives: Int, negatives: Int)] {
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var groups: [(positives: Int, negatives: Int)] = []
        var previous: Float? = nil
        for i in order {
            if scores[i] != previous {
                groups.append((0, 0))
                previous = scores[i]
            }
            if labels[i] { groups[groups.count - 1].positives += 1 } else { groups[groups.count - 1].negatives += 1 }
        }
        return groups
    }

    /// Area under the ROC curve (trapezoidal over distinct thresholds, so a tie between a positive and a
    /// negative counts one half). Nil when the labels hold no positive or no negative: the curve is
    /// undefined (scikit-learn raises there).
    public static func rocAUC(scores: [Float], labels: [Bool]) -> Double? {
        rankingMetrics(scores: scores, labels: labels).auc
    }

    /// Average precision, Σₙ (Rₙ − Rₙ₋₁) Pₙ over distinct thresholds from the highest score down (no
    /// interpolation), as average_precision_score. 0 when there are labels but no positive (scikit-learn
    /// 1.9.1 returns 0 there, with a warning); nil only when there are no labels at all.
    public static func averagePrecision(scores: [Float], labels: [Bool]) -> Double? {
        rankingMetrics(scores: scores, labels: labels).averagePrecision
    }

    /// ROC AUC and average precision from one sort: the bootstrap's weighted walk with every weight 1, so
    /// the full-set values and the resampled ones come from the same code.
    public static func rankingMetrics(scores: [Float], labels: [Bool]) -> (auc: Double?, averagePrecision: Double?) {
        precondition(scores.count == labels.count, "ranking metrics: \(scores.count) scores for \(labels.count) labels")
        return WeightedRanking(scores: scores, labels: labels, rows: Array(scores.indices)).metrics(sampleCount: scores.count)
    }

    /// PsPG's "AP": the trapezoidal area under scikit-learn's precision-recall curve, `auc(recall,
    /// precision)` over `precision_recall_curve(y, s)`. That curve has one point (recall, precision) per
    /// distinct score, highest first, after a first point (0, 1) (drop_intermediate is off by default;
    /// points past full recall add no area). Unlike averagePrecision it interpolates linearly between
    /// points. Nil when there is no positive (scikit-learn would set recall to 1 everywhere; PsPG skips).
    public static func prAUCTrapezoid(scores: [Float], labels: [Bool]) -> Double? {
        precondition(scores.count == labels.count, "prAUCTrapezoid: \(scores.count) scores for \(labels.count) labels")
        let p = labels.filter { $0 }.count
        guard p > 0 else { return nil }
        var area = 0.0, tp = 0, seen = 0, previousRecall = 0.0, previousPrecision = 1.0
        for g in thresholdGroups(scores: scores, labels: labels) {
            tp += g.positives
            seen += g.positives + g.negatives
            let recall = Double(tp) / Double(p), precision = Double(tp) / Double(seen)
            area += (recall - previousRecall) * (precision + previousPrecision) / 2
            (previousRecall, previousPrecision) = (recall, precision)
        }
        return area
    }
}
