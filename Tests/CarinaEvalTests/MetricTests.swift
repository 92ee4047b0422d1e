// Metrics against hand-worked values and scikit-learn 1.9.1 reference values (computed once with
// roc_auc_score / average_precision_score on the arrays below and pasted here).
import Testing
import CarinaEval

@Suite struct MetricTests {
    // 8 samples x 3 classes, with tied scores inside and across classes.
    static let labels: [Float] = [1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0]
    static let scores: [Float] = [0.9, 0.2, 0.5, 0.4, 0.2, 0.7, 0.4, 0.8, 0.5, 0.1, 0.8, 0.3,
                                  0.7, 0.3, 0.5, 0.4, 0.1, 0.9, 0.9, 0.6, 0.2, 0.2, 0.6, 0.5]

    func close(_ a: Double?, _ b: Double, _ tol: Double = 1e-12) -> Bool { a.map { abs($0 - b) <= tol } ?? false }

    @Test func aucOfAPerfectAnInvertedAndATiedRanking() {
        #expect(BinaryMetrics.rocAUC(scores: [0.9, 0.8, 0.1], labels: [true, true, false]) == 1)
        #expect(BinaryMetrics.rocAUC(scores: [0.1, 0.8, 0.9], labels: [true, false, false]) == 0)
        // One positive tied with one of two negatives: pairs (p>n2) = 1, (p=n1) = 1/2 -> 0.75.
        #expect(BinaryMetrics.rocAUC(scores: [0.5, 0.5, 0.2], labels: [true, false, false]) == 0.75)
        #expect(BinaryMetrics.rocAUC(scores: [0.5, 0.2], labels: [true, true]) == nil)
    }

    @Test func averagePrecisionHandWorked() {
        // Ranking P N P: precision 1 at recall 1/2, 2/3 at recall 1 -> (1 + 2/3) / 2.
        #expect(close(BinaryMetrics.averagePrecision(scores: [0.9, 0.8, 0.7], labels: [true, false, true]), 5.0 / 6))
        // A tie of a positive and a negative at the top is one threshold: precision 1/2 at recall 1.
        #expect(close(BinaryMetrics.averagePrecision(scores: [0.5, 0.5], labels: [true, false]), 0.5))
        #expect(BinaryMetrics.averagePrecision(scores: [0.5], labels: [false]) == nil)
    }

    @Test func multiLabelMatchesScikitLearn() {
        let m = MultiLabelMetrics(scores: Self.scores, labels: Self.labels, classNames: ["a", "b", "c"])
        #expect(close(m.auc[0], 0.9375) && close(m.auc[1], 0.9666666666666667) && close(m.auc[2], 0.65625))
        #expect(close(m.averagePrecision[0], 0.9166666666666666) && close(m.averagePrecision[1], 0.9166666666666666)
                && close(m.averagePrecision[2], 0.75))
        #expect(close(m.macroAUC, 0.8534722222222223) && close(m.meanAveragePrecision, 0.861111111111111))
        #expect(close(m.microAUC, 0.8776223776223777) && close(m.microAveragePrecision, 0.8823815073815073))
    }

    @Test func unknownLabelsAreLeftOutAndUndefinedClassesSkippedInMacro() {
        // Class b has only negatives among known labels: undefined, and not part of the macro mean.
        let m = MultiLabelMetrics(scores: [0.9, 0.1, 0.2, 0.8, 0.4, 0.3], labels: [1, 0, 0, -1, 1, 0], classNames: ["a", "b"])
        #expect(m.auc[1] == nil && m.averagePrecision[1] == nil)
        #expect(m.auc[0] == 1 && m.macroAUC == 1)
    }

    @Test func recallAtKBothDirections() {
        // 3 pairs: image 0 finds report 0 first; image 1 ranks its report 2nd; image 2 ranks its report 3rd.
        let s: [Float] = [0.9, 0.1, 0.2,
                          0.8, 0.5, 0.1,
                          0.7, 0.6, 0.3]
        let r = Retrieval.recallAtK(similarity: s, n: 3, ks: [1, 2, 3])
        #expect(r.imageToReport[1] == 1.0 / 3 && r.imageToReport[2] == 2.0 / 3 && r.imageToReport[3] == 1)
        // Columns: report 0 ranks image 0 first (0.9 highest), report 1: 0.5 vs 0.1, 0.6 -> 2nd; report 2: 0.3 top.
        #expect(r.reportToImage[1] == 2.0 / 3 && r.reportToImage[2] == 1)
    }
}
