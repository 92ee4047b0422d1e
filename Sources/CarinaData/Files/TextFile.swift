// Small UTF-8 text files the user hands Carina (configs, vocabularies' neighbours, metrics logs): read whole,
// only if regular and no larger than a stated limit, with an error that names the file and says why. Not
// for: data files read in pieces (shards, manifests), which have their own bounded readers.

public enum TextFile {
    /// The text of the regular file at `path`, at most `limit` bytes of UTF-8; `what` names it in errors
    /// ("the config file").
    public static func read(_ path: String, limit: Int, what: String) throws -> String {
        let bytes: [UInt8]
        do {
            bytes = try FileBytes.contents(of: path, maxBytes: limit)
        } catch {
            throw TextFileError(description: "\(path): cannot read \(what): \(error)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw TextFileError(description: "\(path): cannot read \(what): not UTF-8 text")
        }
        return text
    }
}

/// Why a text file could not be read, naming it.
public struct TextFileError: Error, CustomStringConvertible {
    public let description: String
}
