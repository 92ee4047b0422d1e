// What a sample key may look like in a shard, and how importers turn dataset ids into such keys.
// Not for: choosing which id an importer uses (each importer knows its layout).

public enum SampleKey {
    /// At most this many bytes, so that "KEY.json" fits the 100-byte tar name field.
    public static let maxLength = 95

    /// Throws unless `key` is 1...95 characters from A-Z a-z 0-9 '-' '_'. No '.': WebDataset readers
    /// take everything after the first dot of a member name as its extension.
    public static func validate(_ key: String) throws {
        guard !key.isEmpty else { throw DataError.invalidSample(key: key, problem: "the key is empty") }
        guard key.utf8.count <= maxLength else {
            throw DataError.invalidSample(key: key, problem: "the key is \(key.utf8.count) bytes long; at most \(maxLength) fit a tar member name")
        }
        if let bad = key.unicodeScalars.first(where: { !isAllowed($0) }) {
            throw DataError.invalidSample(key: key, problem: "the key contains '\(bad)'; only letters, digits, '-' and '_' are allowed")
        }
    }

    /// `parts` joined by '_' with every other character replaced by '-' (e.g. a path's '/' and '.'),
    /// cut to `maxLength`: "nih", "00000013_005.png" -> "nih_00000013_005-png".
    public static func make(_ parts: String...) -> String {
        let joined = parts.filter { !$0.isEmpty }.joined(separator: "_")
        var scalars = String.UnicodeScalarView()
        for s in joined.unicodeScalars { scalars.append(isAllowed(s) ? s : "-") }
        return String(String(scalars).prefix(maxLength))  // ASCII only: characters are bytes
    }

    private static func isAllowed(_ s: Unicode.Scalar) -> Bool {
        switch s {
        case "A"..."Z", "a"..."z", "0"..."9", "-", "_": return true
        default: return false
        }
    }
}
