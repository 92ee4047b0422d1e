// The short table `carina train` prints after evaluating: headline numbers first, per-finding zero-shot AUCs
// after, with the untrained model (same initialisation) beside the trained one when it was evaluated.
import Foundation

public enum EvaluationTable {
    public static func render(_ metrics: [String: Double], untrained: [String: Double] = [:]) -> String {
        func f(_ m: [String: Double], _ key: String) -> String { m[key].map { $0.isNaN ? "n/a" : String(format: "%.3f", $0) } ?? "-" }
        func recall(_ m: [String: Double], _ dir: String) -> String { "\(f(m, "r@1_\(dir)")) / \(f(m, "r@5_\(dir)")) / \(f(m, "r@10_\(dir)"))" }
        let compare = !untrained.isEmpty
        func row(_ label: String, _ trained: String, _ baseline: String) -> String {
            "  " + label.padding(toLength: 34, withPad: " ", startingAt: 0) + trained.padding(toLength: 22, withPad: " ", startingAt: 0)
                + (compare ? baseline : "")
        }
        var lines = ["evaluation on the held-out split", row("metric", "trained", "untrained (same init)")]
        for (label, key) in [("fine-tuned macro AUC", "finetune_macro_auc"), ("fine-tuned mean AP", "finetune_mean_ap"),
                             ("zero-shot macro AUC", "zero_shot_macro_auc"), ("linear probe AUC, 1% of labels", "probe_1pct_macro_auc"),
                             ("linear probe AUC, 10% of labels", "probe_10pct_macro_auc"), ("linear probe AUC, 100% of labels", "probe_100pct_macro_auc")]
            where metrics[key] != nil {
            lines.append(row(label, f(metrics, key), f(untrained, key)))
        }
        if metrics["r@1_i2t"] != nil {
            lines.append(row("image->report R@1 / R@5 / R@10", recall(metrics, "i2t"), recall(untrained, "i2t")))
            lines.append(row("report->image R@1 / R@5 / R@10", recall(metrics, "t2i"), recall(untrained, "t2i")))
        }
        for (prefix, title) in [("zero_shot_auc/", "zero-shot AUC per finding:"), ("finetune_auc/", "fine-tuned AUC per finding:")] {
            let perClass = metrics.keys.filter { $0.hasPrefix(prefix) }.sorted()
            guard !perClass.isEmpty else { continue }
            lines.append("  " + title)
            for key in perClass { lines.append(row("  " + String(key.dropFirst(prefix.count)), f(metrics, key), f(untrained, key))) }
        }
        return lines.joined(separator: "\n")
    }
}
