// The importers' CSV reader: quoted commas, doubled quotes and newlines, CRLF and LF, a byte-order mark,
// blank lines, and one bad row reported with its row and line while the other rows stay usable.
// Not for: what columns mean (the importer suites).

import Testing
@testable import CarinaData

@Suite struct ImporterCSVTests {
    @Test func quotedFieldsNewlinesCRLFAndBOM() throws {
        let csv = try ImporterCSV(text: "\u{FEFF}a,b,c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\r\n\r\n2,\"two\nlines\",\r\n3,,\"\"", file: "t.csv")
        #expect(csv.header == ["a", "b", "c"])
        #expect(csv.rows.map(\.fields) == [["1", "x, y", "say \"hi\""], ["2", "two\nlines", ""], ["3", "", ""]])
        #expect(csv.rows.map(\.line) == [2, 4, 6] && csv.rows.map(\.number) == [1, 2, 3])
        #expect(csv.rows.allSatisfy { $0.problem == nil })
        #expect(try csv.column("c") == 2 && csv.optionalColumn("z", "b") == 1)
    }

    @Test func badRowsAreNamedAndTheOthersKept() throws {
        let csv = try ImporterCSV(text: "a,b\n1,2\n3\n4,5\"x\n6,\"7\n", file: "t.csv")
        #expect(csv.rows.map { csv.error($0).map(String.init(describing:)) } == [
            nil,
            "t.csv, row 2 (line 3): 1 fields where the header has 2",
            "t.csv, row 3 (line 4), column 'b': a quote inside an unquoted field",
            "t.csv, row 4 (line 5), column 'b': a quoted field is not closed before the end of the file",
        ])
        #expect(csv.rows[0].fields == ["1", "2"])
    }

    @Test func emptyFileAndBadHeaderAreErrors() {
        #expect(throws: DataError.badRecord(file: "e.csv", record: "header (line 1)", column: nil, problem: "the file is empty: no header row")) {
            try ImporterCSV(text: "\n\n", file: "e.csv")
        }
        #expect(throws: DataError.self) { try ImporterCSV(bytes: [0x61, 0xFF, 0x0A], file: "h.csv") }
    }
}
