// Ranking metrics against hand-worked values and scikit-learn 1.9.1 reference values (computed once by
// reference/make_reference.py on the arrays here and in ReferenceData, and pasted). Not for: thresholded
// metrics (ThresholdMetricTests) or intervals (BootstrapTests).
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
        #expect(BinaryMetrics.averagePrecision(scores: [0.5], labels: [false]) == 0)
        #expect(BinaryMetrics.averagePrecision(scores: [], labels: []) == nil)
    }

    @Test func multiLabelMatchesScikitLearn() {
        let m = MultiLabelMetrics(scores: Self.scores, labels: Self.labels, classNames: ["a", "b", "c"])
        // roc_auc_score / average_precision_score(Y, S, average=None), then average='macro' and 'micro'.
        #expect(close(m.auc[0], 0.9375) && close(m.auc[1], 0.9666666666666667) && close(m.auc[2], 0.65625))
        #expect(close(m.averagePrecision[0], 0.9166666666666666) && close(m.averagePrecision[1], 0.9166666666666666)
                && close(m.averagePrecision[2], 0.75))
        #expect(close(m.macroAUC, 0.8534722222222223) && close(m.meanAveragePrecision, 0.861111111111111))
        #expect(close(m.microAUC, 0.8776223776223777) && close(m.microAveragePrecision, 0.8823815073815073))
    }

    @Test func unknownLabelsAreLeftOutAndAClassWithoutPositivesHasAPZeroButNoAUC() {
        // Class b has only negatives among known labels: its AUC is undefined and left out of the macro
        // AUC; its AP is 0 and counts in the mAP (as average_precision_score); class c has no known label.
        let m = MultiLabelMetrics(scores: [0.9, 0.1, 0.5, 0.2, 0.8, 0.5, 0.4, 0.3, 0.5], labels: [1, 0, -1, 0, -1, -1, 1, 0, -1],
                                  classNames: ["a", "b", "c"])
        #expect(m.auc[1] == nil && m.averagePrecision[1] == 0)
        #expect(m.auc[2] == nil && m.averagePrecision[2] == nil)
        #expect(m.auc[0] == 1 && m.macroAUC == 1)
        #expect(m.averagePrecision[0] == 1 && m.meanAveragePrecision == 0.5)
    }

    @Test func meanAveragePrecisionCountsAClassWithoutPositivesAsZeroAsScikitLearn() {
        // average_precision_score([[1,0],[0,0],[1,0],[0,0]], [[.9,.1],[.2,.5],[.8,.3],[.1,.4]], average=None) = [1, 0]
        let small = MultiLabelMetrics(scores: [0.9, 0.1, 0.2, 0.5, 0.8, 0.3, 0.1, 0.4], labels: [1, 0, 0, 0, 1, 0, 0, 0], classNames: ["a", "b"])
        #expect(small.averagePrecision == [1, 0] && small.meanAveragePrecision == 0.5)
        // average_precision_score(Y, S, average=None) and average='macro' (sklearn 1.9.1), Y and S below.
        let y: [Float] = [1, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 0, 0]
        let s: [Float] = [0.9, 0.1, 0.4, 0.2, 0.5, 0.4, 0.8, 0.3, 0.7, 0.1, 0.4, 0.2, 0.2, 0.2, 0.9]
        let m = MultiLabelMetrics(scores: s, labels: y, classNames: ["a", "b", "c"])
        #expect(close(m.averagePrecision[0], 0.9166666666666665) && m.averagePrecision[1] == 0 && close(m.averagePrecision[2], 0.5))
        #expect(close(m.meanAveragePrecision, 0.47222222222222215))
    }

    @Test func rankingMetricsWithUnknownLabelsMatchScikitLearnPerClass() {
        let m = MultiLabelMetrics(scores: ReferenceData.scores, labels: ReferenceData.labels, classNames: ReferenceData.classNames)
        // roc_auc_score(y, s) per class on its known entries (nil: single label value or nothing known),
        // macro = mean of the defined ones.
        #expect(ReferenceData.close(m.auc, [0.9333333333333333, 0.9666666666666667, nil, 0.9333333333333333, nil]))
        #expect(close(m.macroAUC, 0.9444444444444443))
        // average_precision_score(y, s) per class on its known entries (c: 0, no positive; e: nothing known),
        // mAP = mean of the non-nil ones.
        #expect(ReferenceData.close(m.averagePrecision, [0.925, 0.9333333333333333, 0.0, 0.8857142857142857, nil]))
        #expect(close(m.meanAveragePrecision, 0.6860119047619048))
        // roc_auc_score / average_precision_score of every known entry pooled.
        #expect(close(m.microAUC, 0.8892857142857143) && close(m.microAveragePrecision, 0.7915343915343915))
    }

    @Test func trapezoidPRAUCIsScikitLearnsAucOfItsPrecisionRecallCurve() {
        // precision_recall_curve(y, s) of class a: recall [1, 1, 1, 0.8, 0.8, 0.4, 0.2, 0], precision
        // [0.4545…, 0.5, 0.625, 0.8, 1, 1, 1, 1]: one point per distinct score plus the final (0, 1).
        // auc(recall, precision) per class; nil where no positive; macro over the classes with a positive.
        let m = MultiLabelMetrics(scores: ReferenceData.scores, labels: ReferenceData.labels, classNames: ReferenceData.classNames)
        #expect(ReferenceData.close(m.prAUCTrapezoid, [0.9424999999999999, 0.9666666666666667, nil, 0.942857142857143, nil]))
        #expect(close(m.macroPRAUCTrapezoid, 0.9506746031746033))
        // By hand: P N P -> points (0, 1), (1/2, 1), (1/2, 1/2), (1, 2/3): 1/2 + (1/2)(1/2 + 2/3)/2.
        #expect(close(BinaryMetrics.prAUCTrapezoid(scores: [0.9, 0.8, 0.7], labels: [true, false, true]), 0.5 + 0.5 * (0.5 + 2.0 / 3) / 2))
    }

    @Test func identicalReportsThatDifferInTheLastBitsTieInRetrieval() {
        // Report 1 is report 0 again, embedded in another batch: its similarity differs by rounding only.
        let s: [Float] = [0.8, 0.8 + 3e-7, 0.1,
                          0.8 + 3e-7, 0.8, 0.1,
                          0.1, 0.2, 0.9]
        #expect(Retrieval.ranks(similarity: s, n: 3) == [0, 0, 0])
        #expect(Retrieval.ranks(similarity: s, n: 3, tieTolerance: 0) == [1, 1, 0])
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
