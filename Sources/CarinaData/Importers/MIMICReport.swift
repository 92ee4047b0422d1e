// The FINDINGS and IMPRESSION of a MIMIC-CXR free-text report (files/pXX/pSUBJECT/sSTUDY.txt): section
// headers are capitalised words ending in ':' at the start of a line. Not for: general section parsing
// of other datasets' reports (the text pipeline has its own).

enum MIMICReport {
    /// "FINDINGS: ... IMPRESSION: ..." with whitespace normalised; without either section, the whole text
    /// without its "FINAL REPORT" banner (some reports are a single paragraph).
    static func findingsAndImpression(_ text: String) -> String {
        var sections = [(name: String, body: String)]()
        var name = "", body = [Substring]()
        func close() { if !name.isEmpty || !body.isEmpty { sections.append((name, body.joined(separator: " "))) } }
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.drop(while: \.isWhitespace)
            if let colon = trimmed.firstIndex(of: ":"), isHeader(trimmed[..<colon]) {
                close()
                name = String(trimmed[..<colon])
                body = [trimmed[trimmed.index(after: colon)...]]
            } else {
                body.append(trimmed)
            }
        }
        close()
        let wanted = ["FINDINGS", "IMPRESSION"].compactMap { wanted -> String? in
            let text = sections.filter { $0.name == wanted }.map { ReportRules.normalizeWhitespace($0.body) }.joined(separator: " ")
            return text.isEmpty ? nil : "\(wanted): \(text)"
        }
        if !wanted.isEmpty { return wanted.joined(separator: " ") }
        let whole = ReportRules.normalizeWhitespace(text)
        return whole.hasPrefix("FINAL REPORT") ? String(whole.dropFirst("FINAL REPORT".count)).trimmingWhitespace : whole
    }

    /// "FINDINGS", "IMPRESSION", "PA AND LATERAL VIEWS OF THE CHEST": upper-case letters, spaces, '/' and '&'.
    private static func isHeader(_ text: Substring) -> Bool {
        !text.isEmpty && text.count <= 60 && text.first!.isUppercase
            && text.allSatisfy { $0.isUppercase || $0 == " " || $0 == "/" || $0 == "&" }
    }
}
