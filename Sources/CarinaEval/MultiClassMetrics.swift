// Single-label multi-class evaluation (PRIOR's 5-class zero-shot): accuracy, macro precision/recall/F1
// and Cohen's kappa from true and predicted class indices, as scikit-learn computes them, plus argmax
// of (N, C) scores. Not for: multi-label tasks (MultiLabelMetrics, ThresholdMetrics).

public struct MultiClassMetrics: Sendable, Equatable {
    /// The classes the macro means run over: the sorted union of the classes present in the truth or the
    /// predictions (scikit-learn's default `labels`). A class that occurs in neither is not counted, as
    /// scikit-learn does; it would lower the macro F1 only if `labels` were passed explicitly.
    public let classes: [Int]
    /// confusion[t][p]: samples of true class classes[t] predicted as classes[p].
    public let confusion: [[Int]]
    public let accuracy: Double
    /// Means over `classes` of per-class precision, recall and F1 (0 where undefined: a class never
    /// predicted has precision 0, one never true has recall 0), as average='macro', zero_division=0.
    public let macroPrecision: Double
    public let macroRecall: Double
    public let macroF1: Double
    /// Unweighted cohen_kappa_score; nil where it is undefined (expected disagreement 0, e.g. every
    /// truth and prediction the same single class; scikit-learn returns NaN there).
    public let cohenKappa: Double?

    public init(truth: [Int], predicted: [Int]) {
        precondition(truth.count == predicted.count && !truth.isEmpty,
                     "MultiClassMetrics: \(truth.count) true labels for \(predicted.count) predictions")
        classes = Set(truth + predicted).sorted()
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        let k = classes.count
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        for (t, p) in zip(truth, predicted) { confusion[index[t]!][index[p]!] += 1 }
        self.confusion = confusion

        let n = truth.count
        let correct = (0..<k).reduce(0) { $0 + confusion[$1][$1] }
        accuracy = Double(correct) / Double(n)
        let trueCount = confusion.map { $0.reduce(0, +) }  // per true class
        let predictedCount = (0..<k).map { p in confusion.reduce(0) { $0 + $1[p] } }  // per predicted class
        func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }
        let tp = (0..<k).map { confusion[$0][$0] }
        macroPrecision = (0..<k).map { ratio(tp[$0], predictedCount[$0]) }.reduce(0, +) / Double(k)
        macroRecall = (0..<k).map { ratio(tp[$0], trueCount[$0]) }.reduce(0, +) / Double(k)
        macroF1 = (0..<k).map { ratio(2 * tp[$0], trueCount[$0] + predictedCount[$0]) }.reduce(0, +) / Double(k)

        // κ = 1 − Σ_{t≠p} confusion / Σ_{t≠p} expected, expected[t][p] = trueCount[t]·predictedCount[p] / n.
        var observed = 0.0, expected = 0.0
        for t in 0..<k {
            for p in 0..<k where p != t {
                observed += Double(confusion[t][p])
                expected += Double(trueCount[t]) * Double(predictedCount[p]) / Double(n)
            }
        }
        cohenKappa = expected == 0 ? nil : 1 - observed / expected
    }

    /// Index of the highest score of each row of scores (N, C) row-major; the first one on a tie (as
    /// numpy's argmax).
    public static func argmax(scores: [Float], classCount c: Int) -> [Int] {
        precondition(c > 0 && scores.count % c == 0, "argmax: \(scores.count) scores for \(c) classes")
        return (0..<(scores.count / c)).map { i in
            var best = 0
            for j in 1..<c where scores[i * c + j] > scores[i * c + best] { best = j }
            return best
        }
    }
}
