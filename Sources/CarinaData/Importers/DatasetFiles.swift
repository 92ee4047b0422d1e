// Finding a dataset's files under its root: existence checks, the first of several candidate places, and
// the files in a folder tree. Not for: reading them (CompressedFile, Image.decode).

import Foundation

enum DatasetFiles {
    static func isFile(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && !directory.boolValue
    }

    static func isDirectory(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
    }

    /// The first candidate that is a file (or `.gz` of one), or nil.
    static func firstFile(_ candidates: [String]) -> String? {
        for candidate in candidates {
            if let found = CompressedFile.existing(candidate) { return found }
        }
        return nil
    }

    /// Names in a directory, sorted (empty when it is not one).
    static func names(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    /// File name -> path for every file below `root` whose name ends in one of `extensions`, visiting
    /// folders in sorted order (so a name found twice resolves the same way every time: first wins).
    static func index(under root: String, extensions: [String], maxDepth: Int = 4) -> [String: String] {
        var found = [String: String]()
        func visit(_ directory: String, _ depth: Int) {
            for name in names(in: directory) {
                let path = directory + "/" + name
                if isDirectory(path) {
                    if depth < maxDepth { visit(path, depth + 1) }
                } else if extensions.contains(where: { name.lowercased().hasSuffix($0) }), found[name] == nil {
                    found[name] = path
                }
            }
        }
        visit(root, 0)
        return found
    }

    /// `path` as given if absolute, else relative to `base`.
    static func resolve(_ path: String, relativeTo base: String) -> String {
        path.hasPrefix("/") ? path : base + "/" + path
    }
}

extension String {
    /// The folder part of a path ("a/b/c.csv" -> "a/b", "c.csv" -> ".").
    var directory: String {
        guard let slash = lastIndex(of: "/") else { return "." }
        return slash == startIndex ? "/" : String(self[..<slash])
    }
}

extension DatasetFiles {
    /// The first candidate path that exists as a file, exactly as named (no .gz), or nil.
    static func firstExisting(_ candidates: [String]) -> String? { candidates.first(where: isFile) }
}
