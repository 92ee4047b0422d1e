// Runs side by side: for each run directory (and one of its evaluation's sections), the last evaluation
// in its metrics.jsonl, its model size (the "model" record a fresh run writes) and its training time (the
// sum over sessions of each session's last train record), as one Markdown table of chosen metrics.
// Sections may score different classes (zero-shot leaves out "No Finding", which a probe or a learned
// classifier scores): `sameClasses` recomputes macro AUC and mAP of every row over the classes all rows
// scored, from the per-class values, so that the rows compare like with like.
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
    /// training minutes (on `classifier` rows, and rows without a section whose metrics name their own
    /// sections: a zero-shot or probe section of a frozen part did not train them).
    /// With `sameClasses`, a macro metric (`…macro_auc`, `…map`) is the mean of the row's per-class values
    /// (`…auc/NAME`, `…ap/NAME`) over the classes every row has a value for — the macro AUC's own rule, as
    /// classes without both labels have no per-class AUC — and the table says over which classes. A row
    /// with no per-class values for a metric shows "—" and does not narrow the others' classes.
    public func table(metrics: [(suffix: String, title: String)], sameClasses: Bool = false) -> String {
        func perClassPrefix(_ suffix: String) -> String? {
            if suffix.hasSuffix("macro_auc") { return String(suffix.dropLast("macro_auc".count)) + "auc/" }
            if suffix.hasSuffix("map") { return String(suffix.dropLast("map".count)) + "ap/" }
            return nil
        }
        /// The classes with a (non-NaN) per-class value in `row` for `prefix`.
        func classes(_ row: Row, _ prefix: String) -> Set<String> {
            let key = row.section + prefix
            return Set(row.values.compactMap { k, v in k.hasPrefix(key) && !v.isNaN ? String(k.dropFirst(key.count)) : nil })
        }
        var common: [String: [String]] = [:]  // metric suffix -> the classes every row scored
        if sameClasses {
            for m in metrics {
                // Rows without the section (a probe has no unseen classes) show "—" and do not narrow the set.
                guard let prefix = perClassPrefix(m.suffix) else { continue }
                let scored = rows.map { classes($0, prefix) }.filter { !$0.isEmpty }
                guard let first = scored.first else { continue }
                common[m.suffix] = scored.dropFirst().reduce(first) { $0.intersection($1) }.sorted()
            }
        }
        func value(_ row: Row, _ suffix: String) -> Double? {
            guard let names = common[suffix], let prefix = perClassPrefix(suffix) else { return row.values[row.section + suffix] }
            guard !names.isEmpty, names.allSatisfy({ row.values[row.section + prefix + $0] != nil }) else { return nil }
            return names.reduce(0) { $0 + row.values[row.section + prefix + $1]! } / Double(names.count)
        }
        var lines = ["| run | " + metrics.map(\.title).joined(separator: " | ") + " | trainable parameters | minutes |",
                     "|---|" + String(repeating: "---:|", count: metrics.count + 2)]
        for row in rows {
            let cells = metrics.map { m in value(row, m.suffix).map { $0.isNaN ? "—" : String(format: "%.3f", $0) } ?? "—" }
            // A run's size and time belong to its method's own scores; another section (zero-shot or a probe
            // of its frozen parts) did not train them.
            let own = row.section == "classifier" || row.section.isEmpty
            let parameters = own ? row.trainableParameters.map { String(format: "%.0f", $0) } ?? "—" : "—"
            let minutes = own ? String(format: "%.1f", row.trainingSeconds / 60) : "—"
            lines.append("| \(row.label) | " + cells.joined(separator: " | ") + " | \(parameters) | \(minutes) |")
        }
        let notes = metrics.compactMap { m in common[m.suffix].map { "\(m.title): over the \($0.count) classes every row scores (\($0.joined(separator: ", ")))" } }
        return (lines + (notes.isEmpty ? [] : [""] + notes)).joined(separator: "\n")
    }
}
