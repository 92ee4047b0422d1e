// Bootstrap intervals: the weighted walk over presorted rankings equals the metrics of the resample
// written out (and scikit-learn's on explicit resamples), percentiles are numpy's, and intervals are
// reproducible and sensible. Not for: the full-set metrics (MetricTests).
import Testing
import CarinaEval
import CarinaTensor

@Suite struct BootstrapTests {
    /// (N, C) scores rounded to 0.1 (many ties inside and across classes) and labels with ~15 % unknown.
    func data(_ n: Int, classes c: Int, stream: Int) -> (scores: [Float], labels: [Float]) {
        var rng = RNG(seed: 11, "bootstrap-test-data", stream)
        var scores: [Float] = [], labels: [Float] = []
        for _ in 0..<(n * c) {
            let positive = rng.uniform() < 0.3
            let score = ((positive ? 0.25 : 0) + rng.uniform() * 0.75) * 10
            scores.append(score.rounded() / 10)
            labels.append(rng.uniform() < 0.15 ? -1 : positive ? 1 : 0)
        }
        return (scores, labels)
    }

    /// The rows of a resample written out: row i repeated multiplicity[i] times.
    func materialise(_ values: [Float], classes c: Int, multiplicity: [Int32]) -> [Float] {
        multiplicity.indices.flatMap { i in [[Float]](repeating: Array(values[(i * c)..<((i + 1) * c)]), count: Int(multiplicity[i])).flatMap { $0 } }
    }

    @Test func weightedWalkEqualsTheMetricsOfTheWrittenOutResample() {
        let (scores, labels) = data(60, classes: 3, stream: 0)
        let rankings = MultiLabelRankings(scores: scores, labels: labels, classCount: 3)
        for seed: UInt64 in [0, 1, 7] {
            let bootstrap = Bootstrap(seed: seed)
            for b in 0..<20 {
                let w = bootstrap.multiplicity(resample: b, sampleCount: 60)
                #expect(w.reduce(0, +) == 60)
                let walked = rankings.metrics(multiplicity: w)
                let direct = MultiLabelMetrics(scores: materialise(scores, classes: 3, multiplicity: w),
                                               labels: materialise(labels, classes: 3, multiplicity: w), classNames: ["a", "b", "c"])
                #expect(walked.auc == direct.auc && walked.averagePrecision == direct.averagePrecision, "seed \(seed) resample \(b)")
                #expect(walked.macroAUC == direct.macroAUC && walked.microAUC == direct.microAUC
                        && walked.meanAveragePrecision == direct.meanAveragePrecision, "seed \(seed) resample \(b)")
            }
        }
    }

    @Test func weightedWalkMatchesScikitLearnOnExplicitResamples() {
        let rankings = MultiLabelRankings(scores: ReferenceData.scores, labels: ReferenceData.labels, classCount: 5)
        func weights(_ rows: [Int]) -> [Int32] {
            var w = [Int32](repeating: 0, count: 12)
            for i in rows { w[i] += 1 }
            return w
        }
        // On ReferenceData[rows]: roc_auc_score and average_precision_score per class on its known entries
        // (nil: undefined / nothing known), roc_auc_score of the pooled known entries, mean of non-nil APs.
        let r1 = rankings.metrics(multiplicity: weights([0, 0, 1, 3, 3, 5, 7, 7, 8, 10, 11, 11]))
        #expect(ReferenceData.close(r1.auc, [0.9027777777777778, 0.9259259259259259, nil, 0.9791666666666667, nil]))
        #expect(ReferenceData.close(r1.microAUC, 0.9055555555555556))
        #expect(ReferenceData.close(r1.averagePrecision, [0.9242424242424243, 0.7333333333333334, 0.0, 0.976190476190476, nil]))
        #expect(ReferenceData.close(r1.meanAveragePrecision, 0.6584415584415584))
        let r2 = rankings.metrics(multiplicity: weights([2, 2, 2, 4, 6, 6, 9, 9, 10, 1, 0, 5]))
        #expect(ReferenceData.close(r2.auc, [0.9833333333333334, 1.0, nil, 0.888888888888889, nil]))
        #expect(ReferenceData.close(r2.microAUC, 0.9038461538461539))
        #expect(ReferenceData.close(r2.averagePrecision, [0.9761904761904762, 1.0, 0.0, 0.6666666666666667, nil]))
        #expect(ReferenceData.close(r2.meanAveragePrecision, 0.6607142857142858))
        let r3 = rankings.metrics(multiplicity: weights([11, 10, 9, 8, 7, 6, 5, 4, 3, 3, 3, 3]))
        #expect(ReferenceData.close(r3.auc, [0.875, 0.9583333333333333, nil, 0.9642857142857143, nil]))
        #expect(ReferenceData.close(r3.microAUC, 0.8684863523573201))
        #expect(ReferenceData.close(r3.averagePrecision, [0.7916666666666666, 0.8333333333333333, 0.0, 0.9642857142857143, nil]))
        #expect(ReferenceData.close(r3.meanAveragePrecision, 0.6473214285714286))
    }

    @Test func percentilesAreNumpysLinearOnes() {
        // np.percentile(v, [2.5, 97.5])
        let v = [0.71, 0.64, 0.93, 0.5, 0.82, 0.77, 0.69, 0.88, 0.59, 0.75, 0.8].sorted()
        #expect(ReferenceData.close(Bootstrap.percentile(sorted: v, 2.5), 0.5225) && ReferenceData.close(Bootstrap.percentile(sorted: v, 97.5), 0.9175))
        // np.percentile(np.linspace(0, 1, 1000) ** 2, [2.5, 97.5])
        let w = (0..<1000).map { i -> Double in let x = Double(i) / 999; return x * x }
        #expect(ReferenceData.close(Bootstrap.percentile(sorted: w, 2.5), 0.0006250244238232226, 1e-15))
        #expect(ReferenceData.close(Bootstrap.percentile(sorted: w, 97.5), 0.9506250244238231))
        #expect(Bootstrap.percentile(sorted: [3], 2.5) == 3 && Bootstrap.percentile(sorted: v, 100) == 0.93)
    }

    @Test func intervalsContainTheFullSetValueLieInTheUnitIntervalAndRepeatWithTheSeed() {
        let (scores, labels) = data(200, classes: 3, stream: 1)
        let names = ["a", "b", "c"]
        let full = MultiLabelMetrics(scores: scores, labels: labels, classNames: names)
        let ci = Bootstrap(resamples: 1000, seed: 5).intervals(scores: scores, labels: labels, classNames: names)
        let intervals = ci.auc + [ci.macroAUC, ci.microAUC, ci.meanAveragePrecision]
        let values = full.auc + [full.macroAUC, full.microAUC, full.meanAveragePrecision]
        for (interval, value) in zip(intervals, values) {
            guard let interval, let value else { Issue.record("missing interval"); continue }
            #expect(interval.value == value)
            #expect(0 <= interval.lower && interval.lower <= value && value <= interval.upper && interval.upper <= 1, "\(interval)")
            #expect(interval.lower < interval.upper && interval.resamples == 1000)
        }
        #expect(Bootstrap(resamples: 1000, seed: 5).intervals(scores: scores, labels: labels, classNames: names) == ci)
        #expect(Bootstrap(resamples: 1000, seed: 6).intervals(scores: scores, labels: labels, classNames: names) != ci)
    }

    @Test func resamplesWhereAClassIsUndefinedAreSkippedForThatClass() {
        // 12 samples, class a with a single positive: some resamples miss it and are skipped for a's AUC.
        let ci = Bootstrap(resamples: 200, seed: 1).intervals(scores: ReferenceData.scores, labels: ReferenceData.labels,
                                                              classNames: ReferenceData.classNames)
        #expect(ci.auc[2] == nil && ci.auc[4] == nil)  // c: no positive, e: nothing known
        #expect(ci.meanAveragePrecision?.resamples == 200)
        let single: [Float] = [1] + [Float](repeating: 0, count: 11)
        let s = Bootstrap(resamples: 200, seed: 1).intervals(scores: (0..<12).map { Float($0) / 12 }, labels: single, classNames: ["a"])
        #expect(s.auc[0].map { $0.resamples < 200 && $0.resamples > 100 } == true, "\(String(describing: s.auc[0]))")
    }
}
