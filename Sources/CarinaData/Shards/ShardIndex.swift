// The per-shard index file (shard-000000.idx) that gives random access: one line per sample,
// "KEY<TAB>OFFSET<TAB>PNG<TAB>TXT<TAB>JSON", the byte offset of the sample's first tar header and its
// three member sizes. Not for: the tar bytes themselves (TarHeader) or dataset-wide facts (DatasetManifest).

/// Where one sample lies in its shard. Members follow each other: KEY.png, KEY.txt, KEY.json.
struct ShardIndexEntry: Equatable, Sendable {
    var key: String
    var offset: Int
    var pngSize: Int
    var txtSize: Int
    var jsonSize: Int

    /// Offsets of the three headers and where the last member's data ends.
    var pngHeader: Int { offset }
    var txtHeader: Int { pngHeader + TarHeader.blockSize + pngSize + TarHeader.padding(pngSize) }
    var jsonHeader: Int { txtHeader + TarHeader.blockSize + txtSize + TarHeader.padding(txtSize) }
    var end: Int { jsonHeader + TarHeader.blockSize + jsonSize }

    var line: String { "\(key)\t\(offset)\t\(pngSize)\t\(txtSize)\t\(jsonSize)\n" }
}

enum ShardIndex {
    /// Parses an index file's text; errors name the file and line.
    static func parse(_ text: String, file: String) throws -> [ShardIndexEntry] {
        var entries = [ShardIndexEntry]()
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.isEmpty { continue }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            let numbers = fields.dropFirst().compactMap { Int($0) }
            guard fields.count == 5, numbers.count == 4, numbers.allSatisfy({ $0 >= 0 }), !fields[0].isEmpty else {
                throw DataError.badShard(file: file, member: "line \(lineNumber)",
                                         problem: "expected KEY, offset and three sizes separated by tabs, found '\(line.prefix(120))'")
            }
            entries.append(ShardIndexEntry(key: String(fields[0]), offset: numbers[0], pngSize: numbers[1],
                                           txtSize: numbers[2], jsonSize: numbers[3]))
        }
        return entries
    }
}
