// RFC 4180 CSV as real manifests write it: quoted fields with doubled quotes, commas and newlines inside
// quotes, CRLF or LF line ends, an optional UTF-8 byte-order mark. Errors name the file and line.
// Not for: what the columns mean (each importer knows its layout).
import Foundation

public struct CSVTable: Sendable {
    public let source: String
    public let header: [String]
    /// Data rows (the header excluded), each as many fields as the header.
    public let rows: [[String]]
    /// The line (1-based) each data row starts on, for error messages.
    public let lines: [Int]

    public init(path: String) throws {
        let data: Data
        do {
            // Only a regular file (a named pipe would block), and no bigger than a manifest may be.
            data = Data(try FileBytes.contents(of: path, maxBytes: CompressedFile.maxBytes))
        } catch {
            throw DataError.badText(source: path, problem: "cannot read the CSV file: \(error)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataError.badText(source: path, problem: "the CSV file is not UTF-8")
        }
        try self.init(text: text, source: path)
    }

    public init(text: String, source: String) throws {
        self.source = source
        var records: [[String]] = [], starts: [Int] = []
        var field = "", record: [String] = []
        var inQuotes = false, line = 1, recordStart = 1, fieldWasQuoted = false
        var scalars = Array(text.unicodeScalars)
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            if inQuotes {
                if c == "\"" {
                    if i + 1 < scalars.count && scalars[i + 1] == "\"" { field.unicodeScalars.append("\""); i += 1 } else { inQuotes = false }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
            } else if c == "\"" {
                guard field.isEmpty && !fieldWasQuoted else {
                    throw DataError.badText(source: "\(source):\(line)", problem: "a quote inside an unquoted field")
                }
                inQuotes = true
                fieldWasQuoted = true
            } else if c == "," {
                record.append(field); field = ""; fieldWasQuoted = false
            } else if c == "\n" || c == "\r" {
                if c == "\r" && i + 1 < scalars.count && scalars[i + 1] == "\n" { i += 1 }
                record.append(field); field = ""; fieldWasQuoted = false
                if !(record.count == 1 && record[0].isEmpty) { records.append(record); starts.append(recordStart) }
                record = []
                line += 1
                recordStart = line
            } else {
                field.unicodeScalars.append(c)
            }
            i += 1
        }
        if inQuotes { throw DataError.badText(source: "\(source):\(recordStart)", problem: "a quoted field is not closed before the end of the file") }
        if !field.isEmpty || !record.isEmpty || fieldWasQuoted {
            record.append(field)
            records.append(record)
            starts.append(recordStart)
        }
        guard let header = records.first else { throw DataError.badText(source: source, problem: "the CSV file is empty (no header)") }
        for (r, n) in zip(records.dropFirst(), starts.dropFirst()) where r.count != header.count {
            throw DataError.badText(source: "\(source):\(n)", problem: "\(r.count) fields where the header has \(header.count)")
        }
        self.header = header
        rows = Array(records.dropFirst())
        lines = Array(starts.dropFirst())
    }

    /// The index of a named column, or an error naming the file and the column.
    public func column(_ name: String) throws -> Int {
        guard let i = header.firstIndex(of: name) else {
            throw DataError.badText(source: source, problem: "no column '\(name)' (columns: \(header.joined(separator: ", ")))")
        }
        return i
    }
}
