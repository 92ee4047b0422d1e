// Bootstrap confidence intervals (95 % by default) of the multi-label ranking metrics: B seeded
// resamples of the samples (rows) with replacement, the metrics of each by a weighted walk over rankings
// sorted once, and numpy's default (linear) percentiles. Not for: the metrics' definitions
// (MultiLabelMetrics) or thresholded metrics.
import CarinaTensor

public struct Bootstrap: Sendable {
    public var resamples: Int
    public var seed: UInt64
    /// The interval's percentiles: 2.5 and 97.5 give a 95 % interval.
    public var lowerPercentile = 2.5
    public var upperPercentile = 97.5

    public init(resamples: Int = 1000, seed: UInt64 = 0) {
        self.resamples = resamples
        self.seed = seed
    }

    public struct Interval: Sendable, Equatable {
        /// The metric on the full set.
        public let value: Double
        /// Mean over the resamples where the metric is defined (what PsPG's bootstrap tool reports).
        public let mean: Double
        public let lower: Double
        public let upper: Double
        /// The resamples where the metric is defined; the others are skipped.
        public let resamples: Int
    }

    public struct Intervals: Sendable, Equatable {
        public let classNames: [String]
        /// Per class; nil where the class's AUC is undefined on the full set.
        public let auc: [Interval?]
        public let macroAUC: Interval?
        public let microAUC: Interval?
        public let meanAveragePrecision: Interval?
    }

    /// How often each of the n samples is drawn in resample b: n uniform draws from
    /// RNG(seed: seed, "bootstrap", b), so a resample does not depend on the others or on B.
    public func multiplicity(resample b: Int, sampleCount n: Int) -> [Int32] {
        var counts = [Int32](repeating: 0, count: n)
        var rng = RNG(seed: seed, "bootstrap", b)
        for _ in 0..<n { counts[rng.int(n)] += 1 }
        return counts
    }

    /// Intervals of each class's AUC, the macro and micro AUC and the mAP (MultiLabelMetrics' rules) of
    /// scores and labels (N, C) row-major, labels 1/0/unknown. In a resample where a class's AUC is
    /// undefined (no positive or no negative among its drawn known entries) that resample is skipped for
    /// that class; the resample's macro AUC is the mean over the classes defined in it.
    public func intervals(scores: [Float], labels: [Float], classNames: [String]) -> Intervals {
        let c = classNames.count
        let rankings = MultiLabelRankings(scores: scores, labels: labels, classCount: c)
        let n = rankings.sampleCount
        let full = rankings.metrics(multiplicity: [Int32](repeating: 1, count: n))
        var auc = [[Double]](repeating: [], count: c), macro: [Double] = [], micro: [Double] = [], map: [Double] = []
        for b in 0..<resamples {
            let m = rankings.metrics(multiplicity: multiplicity(resample: b, sampleCount: n))
            for j in 0..<c { if let a = m.auc[j] { auc[j].append(a) } }
            if let v = m.macroAUC { macro.append(v) }
            if let v = m.microAUC { micro.append(v) }
            if let v = m.meanAveragePrecision { map.append(v) }
        }
        func interval(_ value: Double?, _ samples: [Double]) -> Interval? {
            guard let value, !samples.isEmpty else { return nil }
            let sorted = samples.sorted()
            return Interval(value: value, mean: samples.reduce(0, +) / Double(samples.count),
                            lower: Self.percentile(sorted: sorted, lowerPercentile),
                            upper: Self.percentile(sorted: sorted, upperPercentile), resamples: samples.count)
        }
        return Intervals(classNames: classNames, auc: (0..<c).map { interval(full.auc[$0], auc[$0]) },
                         macroAUC: interval(full.macroAUC, macro), microAUC: interval(full.microAUC, micro),
                         meanAveragePrecision: interval(full.meanAveragePrecision, map))
    }

    /// The q-th percentile (0...100) of ascending values as numpy's default np.percentile (method
    /// 'linear'): position h = (n − 1)·q/100 between sorted[⌊h⌋] and the next, interpolated with numpy's
    /// two-sided lerp (from the upper end when the fraction is at least 1/2).
    public static func percentile(sorted: [Double], _ q: Double) -> Double {
        precondition(!sorted.isEmpty && (0...100).contains(q), "percentile \(q) of \(sorted.count) values")
        let h = Double(sorted.count - 1) * (q / 100)
        let below = Swift.max(0, Swift.min(sorted.count - 1, Int(h.rounded(.down))))
        let above = Swift.min(sorted.count - 1, below + 1)
        let t = h - Double(below), a = sorted[below], b = sorted[above]
        let d = b - a
        return t >= 0.5 ? b - d * (1 - t) : a + d * t
    }
}
