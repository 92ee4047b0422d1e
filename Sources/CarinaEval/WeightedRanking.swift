// One binary problem's entries sorted once by score (highest first, equal scores grouped as
// scikit-learn groups them), so that the ROC AUC and average precision of any bootstrap resample are one
// O(N) walk with each entry weighted by how often its sample was drawn. Not for: drawing resamples
// (Bootstrap). BinaryMetrics' AUC and AP are this walk with every weight 1.

public struct WeightedRanking: Sendable {
    /// Per entry in descending score order: the sample (row) it belongs to and whether it is positive.
    let rows: [Int32]
    let positive: [Bool]
    /// Exclusive end, in that order, of each group of equal scores.
    let groupEnds: [Int]

    /// scores, labels and rows are parallel: entry e is sample rows[e]'s score and label.
    public init(scores: [Float], labels: [Bool], rows: [Int]) {
        precondition(scores.count == labels.count && scores.count == rows.count,
                     "WeightedRanking: \(scores.count) scores, \(labels.count) labels, \(rows.count) rows")
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        self.rows = order.map { Int32(rows[$0]) }
        positive = order.map { labels[$0] }
        var ends: [Int] = []
        for (k, e) in order.enumerated() where k > 0 && scores[e] != scores[order[k - 1]] { ends.append(k) }
        if !order.isEmpty { ends.append(order.count) }
        groupEnds = ends
    }

    /// ROC AUC and average precision with entry e counted multiplicity[rows[e]] times: equal to the
    /// unweighted metrics of the resample written out (the tests check it against explicit resamples). AUC nil without a positive or a
    /// negative of positive weight; AP 0 without a positive, nil when every weight is 0.
    public func metrics(multiplicity: UnsafeBufferPointer<Int32>) -> (auc: Double?, averagePrecision: Double?) {
        rows.withUnsafeBufferPointer { rows in
            positive.withUnsafeBufferPointer { positive in
                groupEnds.withUnsafeBufferPointer { groupEnds in
                    Self.walk(rows: rows, positive: positive, groupEnds: groupEnds, multiplicity: multiplicity)
                }
            }
        }
    }

    static func walk(rows: UnsafeBufferPointer<Int32>, positive: UnsafeBufferPointer<Bool>, groupEnds: UnsafeBufferPointer<Int>,
                     multiplicity: UnsafeBufferPointer<Int32>) -> (auc: Double?, averagePrecision: Double?) {
        var p = 0, n = 0
        for e in 0..<rows.count {
            let w = Int(multiplicity[Int(rows[e])])
            if positive[e] { p += w } else { n += w }
        }
        guard p + n > 0 else { return (nil, nil) }
        guard p > 0 else { return (nil, 0) }
        // Trapezoids under the ROC curve and recall steps of AP, one group of equal scores at a time.
        var area = 0.0, tp = 0.0, fp = 0.0
        var ap = 0.0, tpCount = 0, seen = 0, previousRecall = 0.0
        var start = 0
        for end in groupEnds {
            var gp = 0, gn = 0
            for e in start..<end {
                let w = Int(multiplicity[Int(rows[e])])
                if positive[e] { gp += w } else { gn += w }
            }
            start = end
            guard gp + gn > 0 else { continue }  // no drawn sample has this score: no threshold
            let newTP = tp + Double(gp), newFP = fp + Double(gn)
            area += (newFP - fp) * (tp + newTP) / 2
            (tp, fp) = (newTP, newFP)
            tpCount += gp
            seen += gp + gn
            let recall = Double(tpCount) / Double(p)
            ap += (recall - previousRecall) * Double(tpCount) / Double(seen)
            previousRecall = recall
        }
        return (n > 0 ? area / (Double(p) * Double(n)) : nil, ap)
    }

    /// The same with every weight 1 (the full set).
    public func metrics(sampleCount: Int) -> (auc: Double?, averagePrecision: Double?) {
        let ones = [Int32](repeating: 1, count: sampleCount)
        return ones.withUnsafeBufferPointer { metrics(multiplicity: $0) }
    }
}
