// The short table `carina train` prints after evaluating: headline numbers first, per-finding AUCs after.

public enum EvaluationTable {
    public static func render(_ metrics: [String: Double]) -> String {
        func f(_ key: String) -> String { metrics[key].map { $0.isNaN ? "n/a" : String(format: "%.3f", $0) } ?? "-" }
        var lines = ["evaluation (held-out split)", "  metric                         value"]
        let headline = [("zero-shot macro AUC", "zero_shot_macro_auc"), ("linear probe AUC, 1% labels", "probe_1pct_macro_auc"),
                        ("linear probe AUC, 10% labels", "probe_10pct_macro_auc"), ("linear probe AUC, 100% labels", "probe_100pct_macro_auc"),
                        ("image->report R@1 / R@5 / R@10", ""), ("report->image R@1 / R@5 / R@10", "")]
        for (label, key) in headline {
            let value: String
            if label.hasPrefix("image->report") { value = "\(f("r@1_i2t")) / \(f("r@5_i2t")) / \(f("r@10_i2t"))" }
            else if label.hasPrefix("report->image") { value = "\(f("r@1_t2i")) / \(f("r@5_t2i")) / \(f("r@10_t2i"))" }
            else { value = f(key) }
            lines.append("  " + label.padding(toLength: 31, withPad: " ", startingAt: 0) + value)
        }
        let perClass = metrics.keys.filter { $0.hasPrefix("zero_shot_auc/") }.sorted()
        if !perClass.isEmpty {
            lines.append("  zero-shot AUC per finding:")
            for key in perClass { lines.append("    " + String(key.dropFirst(14)).padding(toLength: 29, withPad: " ", startingAt: 0) + f(key)) }
        }
        return lines.joined(separator: "\n")
    }
}
