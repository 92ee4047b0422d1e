// `carina compare`: runs side by side from their metrics.jsonl — the chosen section's metrics of the last
// evaluation, trainable parameters from the "model" record, training time summed over resumed sessions.
import Foundation
import Testing
import CarinaTestSupport
import CarinaTrain

@Suite struct RunComparisonTests {
    func run(_ records: [MetricsRecord]) throws -> String {
        let dir = try makeTemporaryDirectory("compare")
        let log = try MetricsLog(directory: dir)
        for r in records { try log.append(r) }
        return dir
    }

    @Test func tablesTheLastEvaluationOfEachRun() throws {
        let a = try run([
            MetricsRecord(step: 0, kind: "model", values: ["trainable_parameters": 1234, "parameters": 9999], time: 0),
            MetricsRecord(step: 10, kind: "train", values: ["loss": 1], time: 60),
            MetricsRecord(step: 10, kind: "eval", values: ["classifier_seen/macro_auc": 0.5], time: 61),
            MetricsRecord(step: 20, kind: "train", values: ["loss": 1], time: 120),
            // resumed: the clock restarts
            MetricsRecord(step: 30, kind: "train", values: ["loss": 1], time: 30),
            MetricsRecord(step: 30, kind: "eval", values: ["classifier_seen/macro_auc": 0.75, "zero_shot_seen/macro_auc": 0.625,
                                                            "classifier_unseen/macro_auc": .nan], time: 31),
        ])
        let b = try run([MetricsRecord(step: 5, kind: "train", values: [:], time: 6)])
        let table = try RunComparison(runs: [(label: "fixed", directory: a, section: "zero_shot"), (label: "learned", directory: a, section: "classifier"),
                                             (label: "other", directory: b, section: "classifier")])
            .table(metrics: [(suffix: "_seen/macro_auc", title: "seen"), (suffix: "_unseen/macro_auc", title: "unseen")])
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines[0] == "| run | seen | unseen | trainable parameters | minutes |")
        #expect(lines[2] == "| fixed | 0.625 | — | — | — |")  // zero-shot of frozen parts: not what the run trained
        #expect(lines[3] == "| learned | 0.750 | — | 1234 | 2.5 |")  // 120 s + 30 s over two sessions
        #expect(lines[4] == "| other | — | — | — | 0.1 |")
        #expect(throws: (any Error).self) { try RunComparison(runs: [(label: "x", directory: "/nonexistent", section: "classifier")]) }
    }

    @Test func sameClassesComparesMacroMetricsOverTheClassesEveryRowScores() throws {
        // Zero-shot leaves "No Finding" out; the learned classifier scores it (and reads it well). Over each
        // section's own classes the classifier looks better than it is on the shared ones.
        let a = try run([MetricsRecord(step: 1, kind: "eval", values: [
            "zero_shot_seen/macro_auc": 0.7, "zero_shot_seen/auc/Cardiomegaly": 0.9, "zero_shot_seen/auc/Nodule": 0.5,
            "zero_shot_seen/map": 0.4, "zero_shot_seen/ap/Cardiomegaly": 0.6, "zero_shot_seen/ap/Nodule": 0.2,
            "classifier_seen/macro_auc": 0.75, "classifier_seen/auc/Cardiomegaly": 0.8, "classifier_seen/auc/Nodule": 0.5,
            "classifier_seen/auc/No Finding": 0.95, "classifier_seen/auc/Edema": .nan,
            "classifier_seen/map": 0.5, "classifier_seen/ap/Cardiomegaly": 0.5, "classifier_seen/ap/Nodule": 0.25, "classifier_seen/ap/No Finding": 0.75,
        ], time: 1)])
        let comparison = try RunComparison(runs: [(label: "fixed", directory: a, section: "zero_shot"), (label: "learned", directory: a, section: "classifier")])
        let metrics = [(suffix: "_seen/macro_auc", title: "seen AUC"), (suffix: "_seen/map", title: "seen mAP")]
        let own = comparison.table(metrics: metrics).split(separator: "\n").map(String.init)
        #expect(own[3] == "| learned | 0.750 | 0.500 | — | 0.0 |")
        let same = comparison.table(metrics: metrics, sameClasses: true).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(same[2] == "| fixed | 0.700 | 0.400 | — | — |")
        #expect(same[3] == "| learned | 0.650 | 0.375 | — | 0.0 |")  // (0.8 + 0.5) / 2, (0.5 + 0.25) / 2
        #expect(same[5] == "seen AUC: over the 2 classes every row scores (Cardiomegaly, Nodule)")
        #expect(same[6] == "seen mAP: over the 2 classes every row scores (Cardiomegaly, Nodule)")
    }
}
