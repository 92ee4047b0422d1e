// Runs side by side: for each run directory (and one of its evaluation's sections), the last evaluation
// in its metrics.jsonl, its model size (the "model" record a fresh run writes) and its training time (the
// sum over sessions of each session's last train record), as one Markdown table of chosen metrics.
// `launch/prompt-learning.sh` prints PsPG's comparison with it. Not for: computing metrics (evaluation
// writes them) or plots (Plot.swift).
import Foundation

public struct RunComparison {
    public struct Row: Sendable {
        public let label: String
        /// The section whose metrics this row shows ("classifier", "zero_shot", "probe_100pct").
        public let section: String
        public let values: [String: Double]
        public let trainableParameters: Double?
        public let trainingSeconds: Double
    }

    public let rows: [Row]

    /// Reads each run's metrics.jsonl (a missing or malformed file is an error naming it).
    public init(runs: [(label: String, directory: String, section: String)]) throws {
        rows = try runs.map { label, directory, section in
            let records = try MetricsLog.read((directory as NSString).appendingPathComponent("metrics.jsonl"))
            let evaluation = records.last { $0.kind == "eval" }?.values ?? [:]
            let model = records.last { $0.kind == "model" }?.values
            // Each session restarts its clock: add each session's last train time.
            var seconds = 0.0, last = 0.0
            for r in records where r.kind == "train" {
                if r.time < last { seconds += last }
                last = r.time
            }
            return Row(label: label, section: section, values: evaluation, trainableParameters: model?["trainable_parameters"],
                       trainingSeconds: seconds + last)
        }
    }

    /// A Markdown table with a column per metric — the key is the row's section followed by the metric's
    /// suffix (`_seen/macro_auc`, `/map`), "—" where a run has none — then trainable parameters and
    /// training minutes (on `classifier` rows: the other sections evaluate parts the run did not train).
    public func table(metrics: [(suffix: String, title: String)]) -> String {
        var lines = ["| run | " + metrics.map(\.title).joined(separator: " | ") + " | trainable parameters | minutes |",
                     "|---|" + String(repeating: "---:|", count: metrics.count + 2)]
        for row in rows {
            let cells = metrics.map { m in row.values[row.section + m.suffix].map { $0.isNaN ? "—" : String(format: "%.3f", $0) } ?? "—" }
            // A run's size and time belong to its method's own scores; another section (zero-shot or a probe
            // of its frozen parts) did not train them.
            let own = row.section == "classifier"
            let parameters = own ? row.trainableParameters.map { String(format: "%.0f", $0) } ?? "—" : "—"
            let minutes = own ? String(format: "%.1f", row.trainingSeconds / 60) : "—"
            lines.append("| \(row.label) | " + cells.joined(separator: " | ") + " | \(parameters) | \(minutes) |")
        }
        return lines.joined(separator: "\n")
    }
}
