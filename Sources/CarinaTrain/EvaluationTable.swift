// The table `carina train` and `carina eval` print: what was evaluated, every section's headline metrics
// with their bootstrap 95 % intervals (the untrained model, same starting weights, beside them), then one
// row per finding (held-out ones marked) with its AUC and interval in every section that scores findings
// (sections restricted to the seen or held-out findings only in the headline rows). Everything else the
// evaluation computed (threshold metrics, per-finding AP, micro averages) is in metrics.jsonl.
import Foundation

public enum EvaluationTable {
    /// The metrics a section shows in the table; the rest stay in the log. Threshold metrics only for a
    /// classifier trained to its threshold (a prompt pair's 0.5 is not one); macro AUC and mAP only for a
    /// section restricted to the seen or the held-out findings.
    static func isHeadline(_ metric: String, of section: String) -> Bool {
        if isPart(section) { return ["macro_auc", "map"].contains(metric) }
        return ["macro_auc", "map", "single_label_accuracy", "cohen_kappa"].contains(metric) || (section == "classifier" && ["macro_f1", "mcc"].contains(metric))
    }

    /// Whether a section is another's restricted to the seen (`_seen`) or held-out (`_unseen`) findings.
    static func isPart(_ section: String) -> Bool { section.hasSuffix("_seen") || section.hasSuffix("_unseen") }

    public static func render(_ report: EvaluationReport, untrained: EvaluationReport? = nil) -> String {
        func number(_ v: Double?) -> String { v.map { $0.isNaN ? "n/a" : String(format: "%.3f", $0) } ?? "n/a" }
        func withInterval(_ v: Double?, _ ci: ClosedRange<Double>?) -> String {
            number(v) + (ci.map { String(format: " [%.3f, %.3f]", $0.lowerBound, $0.upperBound) } ?? "")
        }
        /// Left-aligned in `width` columns, never cut (a longer text pushes the next column right).
        func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count) }
        func row(_ cells: [String], widths: [Int]) -> String {
            let text = "  " + zip(cells, widths).map { pad($0, $1) }.joined() + (cells.count > widths.count ? cells.last! : "")
            return text.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        var lines = ["evaluation on \(report.title) (\(report.samples) samples)"
                     + (report.bootstrapResamples > 0 ? "; [95 % bootstrap interval, \(report.bootstrapResamples) resamples]" : "")]
        guard !report.sections.isEmpty else {
            return (lines + ["  nothing to evaluate: the method declares no evaluation capability this data supports"]).joined(separator: "\n")
        }
        let compare = untrained != nil
        var body: [[String]] = []
        for s in report.sections {
            let other = untrained?.section(s.key)
            var done: Set<String> = []
            for m in s.metrics where !done.contains(m.key) {
                // Recall@1/5/10 of one direction share a row.
                if let k = m.key.range(of: #"^r@1_"#, options: .regularExpression) {
                    let direction = String(m.key[k.upperBound...])
                    let keys = ["r@1_", "r@5_", "r@10_"].map { $0 + direction }
                    done.formUnion(keys)
                    func recall(_ section: EvaluationReport.Section?) -> String {
                        guard let section else { return "-" }
                        return keys.map { key in number(section.metrics.first { $0.key == key }?.value) }.joined(separator: " / ")
                    }
                    body.append(["\(s.title) \(direction == "i2t" ? "image->report" : "report->image") R@1/5/10", recall(s)] + (compare ? [recall(other)] : []))
                    continue
                }
                guard isHeadline(m.key, of: s.key) else { continue }
                let baseline = other?.metrics.first { $0.key == m.key }
                body.append(["\(s.title) \(m.label)", withInterval(m.value, m.interval)]
                            + (compare ? [baseline.map { withInterval($0.value, $0.interval) } ?? "-"] : []))
            }
        }
        let labelWidth = max(36, body.map { $0[0].count + 2 }.max() ?? 0)
        lines.append(row(["metric", "trained"] + (compare ? ["untrained (same init)"] : []), widths: [labelWidth, 28, 0]))
        lines += body.map { row($0, widths: [labelWidth, 28, 0]) }

        // Findings x sections: AUC with its interval (a finding's AUC is the same in the seen and unseen
        // parts of a section, so only held-out findings are marked).
        let scored = report.sections.filter { !$0.perClass.isEmpty && !isPart($0.key) }
        let unseen = Set(report.sections.filter { $0.key.hasSuffix("_unseen") }.flatMap { $0.perClass.map(\.name) })
        let findings = scored.flatMap { $0.perClass.map(\.name) }.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        if !findings.isEmpty {
            lines.append("  AUC per finding [95 % interval]:")
            func label(_ name: String) -> String { unseen.contains(name) ? name + " (held out)" : name }
            let nameWidth = max(20, findings.map { label($0).count }.max()! + 2)
            let cellWidth = 22
            lines.append(row([""] + scored.map(\.title) + ["positives/known"], widths: [nameWidth] + scored.map { _ in cellWidth } + [0]))
            for name in findings {
                let cells = scored.map { s -> String in
                    guard let c = s.perClass.first(where: { $0.name == name }) else { return "-" }
                    return withInterval(c.auc, c.aucInterval)
                }
                let counts = scored.lazy.compactMap { $0.perClass.first { $0.name == name } }.first.map { "\($0.positives)/\($0.known)" } ?? ""
                lines.append(row([label(name)] + cells + [counts], widths: [nameWidth] + scored.map { _ in cellWidth } + [0]))
            }
        }
        return lines.joined(separator: "\n")
    }
}
