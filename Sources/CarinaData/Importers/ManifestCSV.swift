// CSV as datasets ship it (RFC 4180 quotes with doubled quotes, commas and newlines inside quotes, CRLF or
// LF, a UTF-8 byte-order mark, .csv.gz), parsed from bytes so that one bad row (wrong field count, invalid
// UTF-8, stray quote) is reported with its file, row and line and the other rows still import.
// TO BE REPLACED by CSVTable (Sources/CarinaData/CSV/) when the branches merge: same job, kept internal
// under another name to avoid a clash; CSVTable would need per-row problems instead of whole-file errors.
// Not for: what columns mean (each importer knows its layout).

struct ImporterCSV {
    struct Row {
        /// 1-based data row (the header is not counted) and the line it starts on.
        let number: Int
        let line: Int
        let fields: [String]
        /// Why the row cannot be used (and in which column), if it cannot.
        let problem: (column: String?, text: String)?

        /// "row 5 (line 6)", as errors name it.
        var locator: String { "row \(number) (line \(line))" }
    }

    let file: String
    let header: [String]
    let rows: [Row]

    /// Reads and parses a CSV (or gzipped CSV) file.
    init(path: String) throws {
        try self.init(bytes: try CompressedFile.contents(of: path), file: path)
    }

    init(text: String, file: String) throws {
        try self.init(bytes: Array(text.utf8), file: file)
    }

    init(bytes: [UInt8], file: String) throws {
        self.file = file
        var records = [(line: Int, fields: [String], problem: (column: Int?, text: String)?)]()
        bytes.withUnsafeBufferPointer { buffer in
            var i = buffer.count >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF ? 3 : 0
            let n = buffer.count
            var line = 1
            var field = [UInt8]()
            field.reserveCapacity(256)
            while i < n {
                let start = line
                var fields = [String]()
                var problem: (column: Int?, text: String)?
                var atRecordEnd = false
                while !atRecordEnd {
                    field.removeAll(keepingCapacity: true)
                    var quoted = false
                    if i < n && buffer[i] == UInt8(ascii: "\"") {  // quoted field
                        quoted = true
                        i += 1
                        var closed = false
                        while i < n {
                            let c = buffer[i]
                            if c == UInt8(ascii: "\"") {
                                if i + 1 < n && buffer[i + 1] == UInt8(ascii: "\"") { field.append(c); i += 2; continue }
                                i += 1
                                closed = true
                                break
                            }
                            if c == 10 { line += 1 }
                            field.append(c)
                            i += 1
                        }
                        if !closed, problem == nil {
                            problem = (fields.count, "a quoted field is not closed before the end of the file")
                        }
                    }
                    // Unquoted field, or what follows a closing quote up to the next comma or line end.
                    while i < n {
                        let c = buffer[i]
                        if c == UInt8(ascii: ",") || c == 10 || c == 13 { break }
                        if problem == nil {
                            if quoted {
                                problem = (fields.count, "text after a closing quote")
                            } else if c == UInt8(ascii: "\"") {
                                problem = (fields.count, "a quote inside an unquoted field")
                            }
                        }
                        field.append(c)
                        i += 1
                    }
                    if let text = field.withUnsafeBufferPointer({ String(validating: $0, as: UTF8.self) }) {
                        fields.append(text)
                    } else {
                        if problem == nil { problem = (fields.count, "not valid UTF-8 text") }
                        fields.append(String(decoding: field, as: UTF8.self))
                    }
                    if i < n && buffer[i] == UInt8(ascii: ",") {
                        i += 1
                    } else {
                        atRecordEnd = true
                        if i < n && buffer[i] == 13 { i += 1 }
                        if i < n && buffer[i] == 10 { i += 1 }
                        line += 1
                    }
                }
                if fields.count == 1 && fields[0].isEmpty && problem == nil { continue }  // blank line
                records.append((start, fields, problem))
            }
        }
        guard let first = records.first else {
            throw DataError.badRecord(file: file, record: "header (line 1)", column: nil, problem: "the file is empty: no header row")
        }
        if let problem = first.problem {
            throw DataError.badRecord(file: file, record: "header (line 1)", column: nil, problem: problem.text)
        }
        let header = first.fields
        self.header = header
        rows = records.dropFirst().enumerated().map { number, record in
            var problem = record.problem.map { (column: $0.column.flatMap { $0 < header.count ? header[$0] : nil }, text: $0.text) }
            if problem == nil && record.fields.count != header.count {
                problem = (nil, "\(record.fields.count) fields where the header has \(header.count)")
            }
            return Row(number: number + 1, line: record.line, fields: record.fields, problem: problem)
        }
    }

    /// The index of a required column; a missing one is an error naming the file, the header and the column.
    func column(_ name: String) throws -> Int {
        guard let index = header.firstIndex(of: name) else {
            throw DataError.badRecord(file: file, record: "header (line 1)", column: name,
                                      problem: "missing column (the columns are: \(header.joined(separator: ", ")))")
        }
        return index
    }

    /// The index of the first of `names` that is a column, if any.
    func optionalColumn(_ names: String...) -> Int? {
        names.lazy.compactMap { header.firstIndex(of: $0) }.first
    }

    /// The error for a row that has a problem, naming the file, row and column.
    func error(_ row: Row) -> DataError? {
        row.problem.map { DataError.badRecord(file: file, record: row.locator, column: $0.column, problem: $0.text) }
    }
}
