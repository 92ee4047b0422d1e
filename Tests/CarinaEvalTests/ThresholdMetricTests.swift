// Thresholded multi-label metrics and multi-class metrics against scikit-learn 1.9.1 (values computed by
// reference/make_reference.py on the arrays here and in ReferenceData, and pasted). Not for: ranking
// metrics (MetricTests).
import Testing
import CarinaEval

@Suite struct ThresholdMetricTests {
    func close(_ a: Double?, _ b: Double) -> Bool { ReferenceData.close(a, b) }

    @Test func perClassMetricsOnKnownLabelsMatchScikitLearn() {
        let m = ThresholdMetrics(scores: ReferenceData.scores, labels: ReferenceData.labels, classNames: ReferenceData.classNames)
        // precision_score / recall_score / f1_score(y, s > 0.5, zero_division=0), accuracy_score and
        // matthews_corrcoef per class on its known entries (class e: nothing known).
        #expect(ReferenceData.close(m.perClass.map { $0?.precision }, [0.8, 1.0, 0.0, 1.0, nil]))
        #expect(ReferenceData.close(m.perClass.map { $0?.recall }, [0.8, 0.6, 0.0, 0.6, nil]))
        #expect(ReferenceData.close(m.perClass.map { $0?.f1 }, [0.8, 0.75, 0.0, 0.75, nil]))
        #expect(ReferenceData.close(m.perClass.map { $0?.accuracy }, [0.8181818181818182, 0.8181818181818182, 0.7, 0.8181818181818182, nil]))
        #expect(ReferenceData.close(m.perClass.map { $0?.mcc }, [0.6333333333333333, 0.6708203932499369, 0.0, 0.6708203932499369, nil]))
        // Means of those over the classes with a known label.
        #expect(close(m.macroPrecision, 0.7) && close(m.macroRecall, 0.5) && close(m.macroF1, 0.575))
        #expect(close(m.accuracy, 0.7886363636363637) && close(m.mcc, 0.49374352995830184))
        // precision_score / recall_score / f1_score of every known entry pooled.
        #expect(close(m.microPrecision, 0.7142857142857143) && close(m.microRecall, 0.6666666666666666)
                && close(m.microF1, 0.6896551724137931))
    }

    @Test func fullyKnownLabelsGiveScikitLearnsMacroAndMicroAverages() {
        // Rows 0, 1, 3, 5, 9, 10, 11 and classes a-d of ReferenceData: every label known.
        let rows = [0, 1, 3, 5, 9, 10, 11]
        let labels = rows.flatMap { i in (0..<4).map { ReferenceData.labels[i * 5 + $0] } }
        let scores = rows.flatMap { i in (0..<4).map { ReferenceData.scores[i * 5 + $0] } }
        let m = ThresholdMetrics(scores: scores, labels: labels, classNames: ["a", "b", "c", "d"])
        // precision_score / recall_score / f1_score(Y, S > 0.5, average='macro', zero_division=0)
        #expect(close(m.macroPrecision, 0.6666666666666666) && close(m.macroRecall, 0.45833333333333326)
                && close(m.macroF1, 0.5333333333333333))
        // the same with average='micro'
        #expect(close(m.microPrecision, 0.7142857142857143) && close(m.microRecall, 0.625)
                && close(m.microF1, 0.6666666666666666))
        // mean over columns of accuracy_score and of matthews_corrcoef
        #expect(close(m.accuracy, 0.8214285714285714) && close(m.mcc, 0.4481151585936977))
    }

    @Test func predictionIsStrictlyAboveTheThresholdAndPrecisionIsNotSwappedWithRecall() {
        // Scores 0.5 at threshold 0.5 are negative predictions. Truth 1 1 1 0, predicted 1 0 0 0:
        // precision 1/1, recall 1/3 (PsPG's swapped FP/FN would report them the other way round).
        let m = ThresholdMetrics(scores: [0.9, 0.5, 0.2, 0.5], labels: [1, 1, 1, 0], classNames: ["a"])
        #expect(m.perClass[0]?.truePositives == 1 && m.perClass[0]?.falseNegatives == 2 && m.perClass[0]?.falsePositives == 0)
        #expect(m.perClass[0]?.precision == 1 && m.perClass[0]?.recall == 1.0 / 3)
    }

    @Test func multiClassMetricsMatchScikitLearnOverTheClassesPresent() {
        // Classes 0, 1, 2, 4, 5 occur (4 only as truth, 5 only as a prediction); class 3 never does.
        let truth = [0, 1, 2, 2, 0, 1, 4, 4, 0, 2, 1, 1, 0, 2]
        let predicted = [0, 2, 2, 2, 1, 1, 0, 5, 0, 2, 1, 0, 0, 1]
        let m = MultiClassMetrics(truth: truth, predicted: predicted)
        #expect(m.classes == [0, 1, 2, 4, 5])
        // accuracy_score, f1_score / precision_score / recall_score(average='macro', zero_division=0),
        // cohen_kappa_score (sklearn's default labels: the union of both; with labels=range(6) the macro F1
        // would be 0.3194444444444444).
        #expect(close(m.accuracy, 0.5714285714285714) && close(m.macroF1, 0.3833333333333333))
        #expect(close(m.macroPrecision, 0.37) && close(m.macroRecall, 0.4))
        #expect(close(m.cohenKappa, 0.41666666666666663))
        // One class everywhere: agreement by chance is total, κ undefined (sklearn: NaN).
        #expect(MultiClassMetrics(truth: [2, 2], predicted: [2, 2]).cohenKappa == nil)
    }

    @Test func argmaxTakesTheFirstOfTiedScores() {
        #expect(MultiClassMetrics.argmax(scores: [0.1, 0.7, 0.2, 0.4, 0.4, 0.1], classCount: 3) == [1, 0])
    }
}
