// The per-shard index file (shard-000000.idx) that gives random access: one line per sample,
// "KEY<TAB>OFFSET<TAB>PNG<TAB>TXT<TAB>JSON", the byte offset of the sample's first tar header and its
// three member sizes. Not for: the tar bytes themselves (TarHeader) or dataset-wide facts (DatasetManifest).

/// Where one sample lies in its shard. Members follow each other: KEY.png, KEY.txt, KEY.json.
/// `ShardIndex.parse` bounds the offset and sizes so that the positions below cannot overflow.
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
    /// The largest member a ustar header can describe (11 octal digits): 8 GiB - 1.
    static let maxMemberSize = (1 << 33) - 1
    /// The largest offset accepted (1 PiB): with sizes under `maxMemberSize`, `end` cannot overflow.
    static let maxOffset = 1 << 50
    /// Room per index line when bounding an index file's size by its sample count (lines need ~150).
    static let maxLineBytes = 256

    /// Parses an index file's text; errors name the file and line. Keys must be valid sample keys (no
    /// '/', '.', NUL or other path characters), offsets 512-byte aligned, and offset and sizes in range.
    static func parse(_ text: String, file: String) throws -> [ShardIndexEntry] {
        var entries = [ShardIndexEntry]()
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.isEmpty { continue }
            func bad(_ problem: String) -> DataError { .badShard(file: file, member: "line \(lineNumber)", problem: problem) }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            let numbers = fields.dropFirst().compactMap { Int($0) }
            guard fields.count == 5, numbers.count == 4, numbers.allSatisfy({ $0 >= 0 }), !fields[0].isEmpty else {
                throw bad("expected KEY, offset and three sizes separated by tabs, found '\(line.prefix(120))'")
            }
            let key = String(fields[0])
            do {
                try SampleKey.validate(key)
            } catch let DataError.invalidSample(_, problem) {
                throw bad("the key is not a valid sample key: \(problem)")
            }
            guard numbers[0] <= maxOffset, numbers[0] % TarHeader.blockSize == 0 else {
                throw bad("offset \(numbers[0]) is not a multiple of \(TarHeader.blockSize) at most \(maxOffset)")
            }
            if let size = numbers.dropFirst().first(where: { $0 > maxMemberSize }) {
                throw bad("member size \(size) is over the tar limit of \(maxMemberSize) bytes")
            }
            entries.append(ShardIndexEntry(key: key, offset: numbers[0], pngSize: numbers[1],
                                           txtSize: numbers[2], jsonSize: numbers[3]))
        }
        return entries
    }
}
