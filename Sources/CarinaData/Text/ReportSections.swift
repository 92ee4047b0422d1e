// Radiology report structure: the FINDINGS and IMPRESSION sections (what contrastive and masked-language
// methods train on) out of MIMIC-CXR / IU X-ray style reports with their other headers, and sentence
// splitting for PRIOR's sentence-level encoding. Not for: tokenisation (WordPieceTokenizer).
import Foundation

public enum ReportSections {
    /// Section headers that end a section (upper-case, before a colon).
    static let headers = ["FINAL REPORT", "EXAMINATION", "EXAM", "INDICATION", "INDICATIONS", "CLINICAL HISTORY", "HISTORY",
                          "REASON FOR EXAMINATION", "REASON FOR EXAM", "COMPARISON", "COMPARISONS", "TECHNIQUE", "FINDINGS",
                          "IMPRESSION", "IMPRESSIONS", "CONCLUSION", "RECOMMENDATION", "RECOMMENDATIONS", "NOTIFICATION", "WET READ"]

    /// Every "HEADER:" in the text with where its content starts, in order.
    static func sectionMarks(_ text: String) -> [(name: String, headerStart: String.Index, contentStart: String.Index)] {
        let upper = text.uppercased()
        guard upper.count == text.count else { return [] }  // case mapping changed lengths: no reliable offsets
        var marks: [(String, String.Index, String.Index)] = []
        for header in headers {
            var searchStart = upper.startIndex
            while let r = upper.range(of: header + ":", range: searchStart..<upper.endIndex) {
                let before = r.lowerBound == upper.startIndex ? nil : upper[upper.index(before: r.lowerBound)]
                if before == nil || before!.isWhitespace || before!.isNewline {
                    let offset = upper.distance(from: upper.startIndex, to: r.lowerBound)
                    let contentOffset = upper.distance(from: upper.startIndex, to: r.upperBound)
                    marks.append((header, text.index(text.startIndex, offsetBy: offset), text.index(text.startIndex, offsetBy: contentOffset)))
                }
                searchStart = r.upperBound
            }
        }
        // Longer headers win where two start at the same place ("REASON FOR EXAM" inside "REASON FOR EXAMINATION").
        marks.sort { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0.count > $1.0.count }
        var unique: [(String, String.Index, String.Index)] = []
        for m in marks where unique.last?.1 != m.1 && (unique.last.map { m.1 >= $0.2 } ?? true) { unique.append(m) }
        return unique.map { (name: $0.0, headerStart: $0.1, contentStart: $0.2) }
    }

    /// The text of one section (nil if absent), whitespace collapsed.
    public static func section(_ name: String, in report: String) -> String? {
        let marks = sectionMarks(report)
        let wanted = name.uppercased()
        guard let i = marks.firstIndex(where: { $0.name == wanted || $0.name == wanted + "S" }) else { return nil }
        let end = i + 1 < marks.count ? marks[i + 1].headerStart : report.endIndex
        let body = collapse(String(report[marks[i].contentStart..<end]))
        return body.isEmpty ? nil : body
    }

    /// FINDINGS then IMPRESSION, joined; the whole report (whitespace collapsed) when it has neither.
    public static func findingsAndImpression(_ report: String) -> String {
        let parts = [section("FINDINGS", in: report), section("IMPRESSION", in: report)].compactMap { $0 }
        return parts.isEmpty ? collapse(report) : parts.joined(separator: " ")
    }

    /// Sentences: split after '.', '?' or '!' followed by whitespace or the end — not inside decimals
    /// ("2.5 cm") or after common abbreviations ("Dr.", "e.g.", "approx.") — dropping empty ones and
    /// de-identification placeholders ("___").
    public static func sentences(_ text: String) -> [String] {
        let abbreviations: Set<String> = ["dr", "mr", "mrs", "ms", "e.g", "i.e", "vs", "approx", "no", "fig", "st", "etc"]
        let chars = Array(collapse(text))
        var out: [String] = [], current = ""
        for (i, c) in chars.enumerated() {
            current.append(c)
            guard c == "." || c == "?" || c == "!" else { continue }
            let atEnd = i + 1 == chars.count
            guard atEnd || chars[i + 1] == " " else { continue }
            if c == "." {
                let word = current.dropLast().split(separator: " ").last.map { $0.lowercased() } ?? ""
                // "No." ends a sentence unless a number follows ("No. 5"); other abbreviations never do.
                let nextIsDigit = i + 2 < chars.count && chars[i + 2].isNumber
                if !atEnd && (word == "no" ? nextIsDigit : abbreviations.contains(word)) { continue }
            }
            appendSentence(&out, current)
            current = ""
        }
        appendSentence(&out, current)
        return out
    }

    static func appendSentence(_ out: inout [String], _ s: String) {
        let trimmed = s.trimmingCharacters(in: .whitespaces)
        let content = trimmed.filter { $0.isLetter || $0.isNumber }
        if !content.isEmpty { out.append(trimmed) }
    }

    /// Runs of whitespace and newlines as one space, ends trimmed.
    public static func collapse(_ s: String) -> String {
        s.split(whereSeparator: { $0.isWhitespace || $0.isNewline }).joined(separator: " ")
    }
}
