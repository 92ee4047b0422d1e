// When a report is good enough to import: not empty (unless empty reports are allowed) and, where asked,
// at least N sentences. Not for: finding report sections (each importer knows its report format).

public struct ReportRules: Sendable, Equatable {
    /// Keep samples whose report is empty (datasets with optional notes, image-only training).
    public var allowEmpty: Bool
    /// Leave out samples whose report has fewer sentences (MIMIC's --min-report-sentences); 0 keeps all.
    public var minimumSentences: Int

    public init(allowEmpty: Bool = false, minimumSentences: Int = 0) {
        self.allowEmpty = allowEmpty
        self.minimumSentences = minimumSentences
    }

    /// The problem with an empty report, or nil when the report may be used.
    public func emptinessProblem(_ report: String) -> String? {
        if !allowEmpty && report.allSatisfy(\.isWhitespace) {
            return "the report is empty (use --allow-empty-reports to keep such samples)"
        }
        return nil
    }

    /// Whether the report has enough sentences to keep.
    public func hasEnoughSentences(_ report: String) -> Bool {
        minimumSentences <= 0 || ReportRules.sentenceCount(report) >= minimumSentences
    }

    /// Sentences: runs of text ending in '.', '!' or '?' (followed by space or the end), or the end of the
    /// text, that contain a letter. "FINDINGS: Clear lungs. No effusion. IMPRESSION: Normal." -> 3.
    public static func sentenceCount(_ text: String) -> Int {
        var count = 0, hasLetter = false
        let scalars = Array(text.unicodeScalars)
        for (i, s) in scalars.enumerated() {
            if s.properties.isAlphabetic { hasLetter = true }
            let ends = (s == "." || s == "!" || s == "?") && (i + 1 == scalars.count || scalars[i + 1].properties.isWhitespace)
            if ends && hasLetter {
                count += 1
                hasLetter = false
            }
        }
        return count + (hasLetter ? 1 : 0)
    }

    /// Whitespace runs (newlines, the column padding of MIMIC reports) as single spaces, trimmed.
    public static func normalizeWhitespace(_ text: String) -> String {
        text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
}
