// `carina compare RUN[#SECTION][=LABEL]... --metric SUFFIX[=TITLE]...`: a Markdown table of runs side by
// side (the chosen section of their last evaluation, trainable parameters, training minutes);
// `--same-classes` compares macro metrics over the classes every row scores. Not for:
// evaluating (carina eval) or curves (carina plot).

import ArgumentParser
import CarinaTrain

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "compare", abstract: "Print runs' final evaluations side by side.")

    @Argument(help: "Run directories, each optionally followed by #SECTION (default classifier; an empty section: metrics name their sections) and =LABEL (default: the run as given).")
    var runs: [String]

    @Option(name: .customLong("metric"), help: "A metric key after the section (e.g. _seen/macro_auc, /map), optionally =TITLE; repeatable.")
    var metrics: [String] = ["/macro_auc=macro AUC", "/map=mAP"]

    @Flag(help: "Macro AUC and mAP of every row over the classes all rows score (from per-class values), not each section's own classes.")
    var sameClasses = false

    func run() throws {
        func split(_ s: String, at c: Character) -> (String, String?) {
            guard let i = s.firstIndex(of: c) else { return (s, nil) }
            return (String(s[..<i]), String(s[s.index(after: i)...]))
        }
        let specs = runs.map { spec -> (label: String, directory: String, section: String) in
            let (path, label) = split(spec, at: "=")
            let (directory, section) = split(path, at: "#")
            return (label ?? path, directory, section ?? "classifier")
        }
        let columns = metrics.map { m -> (suffix: String, title: String) in
            let (suffix, title) = split(m, at: "=")
            return (suffix, title ?? suffix)
        }
        print(try RunComparison(runs: specs).table(metrics: columns, sameClasses: sameClasses))
    }
}
