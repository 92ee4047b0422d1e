// Whether an image path a dataset's records name stays inside the dataset's root folder: by its text ('..',
// absolute paths) and with every symbolic link resolved. Not for: finding files
// (DatasetFiles) or reading them (Image.decode).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum ImageRoot {
    /// Why `path` is not inside `root` (a sentence naming the path), or nil when it is. A path that does not
    /// exist is judged by its text and its nearest existing folder (reading it then reports it missing).
    static func problem(_ path: String, root: String) -> String? {
        let hint = "pass --allow-outside-root to read images outside it"
        guard let base = resolved(root) ?? lexical(root) else { return "the root \(root) cannot be resolved" }
        guard let target = lexical(path), isInside(target, lexical(root) ?? base) || isInside(target, base) else {
            return "image path \(path) is outside --root \(root); \(hint)"
        }
        // Where it exists, the file itself; else its nearest existing folder (so that a missing file behind a
        // link that leads out is reported as outside, not as missing there).
        var probe = target
        while resolved(probe) == nil && probe != "/" { probe = probe.directory }
        if let real = resolved(path) ?? resolved(probe), real != base, !isInside(real, base) {
            return "image path \(path) leads through a symbolic link to \(real), outside --root \(root); \(hint)"
        }
        return nil
    }

    private static func isInside(_ path: String, _ folder: String) -> Bool {
        let prefix = folder.hasSuffix("/") ? folder : folder + "/"
        return path.hasPrefix(prefix)
    }

    /// `path` with symbolic links, '.' and '..' resolved, or nil when it does not exist.
    private static func resolved(_ path: String) -> String? {
        guard let real = realpath(path, nil) else { return nil }
        defer { free(real) }
        return String(cString: real)
    }

    /// `path` made absolute (against the working directory) with '.', '..' and repeated '/' removed by
    /// text alone; nil when the working directory is unknown.
    private static func lexical(_ path: String) -> String? {
        var absolute = path
        if !path.hasPrefix("/") {
            guard let cwd = getcwd(nil, 0) else { return nil }
            defer { free(cwd) }
            absolute = String(cString: cwd) + "/" + path
        }
        var parts = [Substring]()
        for part in absolute.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }
}
