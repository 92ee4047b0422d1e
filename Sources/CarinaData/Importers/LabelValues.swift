// Label cells as datasets write them: CheXpert-style 1.0 / 0.0 / -1.0 (uncertain) / blank (not mentioned)
// with an uncertainty policy, and '|'-joined finding names. Not for: which columns a layout has.

/// What CheXpert's -1.0 (uncertain) becomes: 1 (U-Ones), 0 (U-Zeros) or stays -1, which losses ignore.
public enum UncertaintyPolicy: String, Sendable, CaseIterable {
    case ones, zeros, ignore

    public var value: LabelValue {
        switch self {
        case .ones: return 1
        case .zeros: return 0
        case .ignore: return -1
        }
    }
}

enum LabelValues {
    /// A CheXpert-style cell: nil when blank (absent, not negative); a problem text when not a label.
    static func parse(_ cell: String, uncertainty: UncertaintyPolicy) -> Result<LabelValue?, LabelProblem> {
        switch cell.trimmingWhitespace {
        case "": return .success(nil)
        case "1", "1.0", "1.00": return .success(1)
        case "0", "0.0", "0.00": return .success(0)
        case "-1", "-1.0", "-1.00": return .success(uncertainty.value)
        case let other:
            return .failure(LabelProblem(text: "'\(other)' is not a label value (1.0, 0.0, -1.0 or blank)"))
        }
    }

    /// '|'-joined names, trimmed, empty parts dropped.
    static func names(_ cell: String) -> [String] {
        cell.split(separator: "|").map { String($0).trimmingWhitespace }.filter { !$0.isEmpty }
    }

    /// 1 for each name in `positives`, 0 for the rest of `vocabulary`.
    static func multiHot(_ positives: [String], vocabulary: [String]) -> [String: LabelValue] {
        var labels = [String: LabelValue]()
        for name in vocabulary { labels[name] = 0 }
        for name in positives { labels[name] = 1 }
        return labels
    }
}

struct LabelProblem: Error {
    let text: String
}

extension String {
    /// Without leading and trailing spaces, tabs and newlines.
    var trimmingWhitespace: String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
