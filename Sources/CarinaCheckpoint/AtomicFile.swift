// Durable replacement of a file: write a temporary file in the same directory, fsync it, rename it over
// the target, fsync the directory. A kill at any moment leaves the old file or the complete new one.
// Not for: what the bytes mean (CheckpointFile) or which files a run keeps (CheckpointStore).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum AtomicFile {
    /// The temporary name `path` is written under first: `.NAME.tmp-PID` in the same directory, so the
    /// rename never crosses file systems and no `step-*.ckpt` pattern can match it.
    public static func temporaryPath(for path: String, pid: Int32 = getpid()) -> String {
        let (directory, name) = split(path)
        let prefix = directory == "." && !path.hasPrefix("./") ? "" : directory.hasSuffix("/") ? directory : directory + "/"
        return prefix + ".\(name).tmp-\(pid)"
    }

    /// Whether `name` (a file name, no directory) is one of the temporary names `temporaryPath` makes,
    /// and the process that made it.
    public static func temporaryOwner(_ name: String) -> Int32? {
        guard name.hasPrefix("."), let marker = name.range(of: ".tmp-", options: .backwards) else { return nil }
        return Int32(name[marker.upperBound...])
    }

    /// Replaces `path` with `bytes` durably.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try write([bytes], to: path)
    }

    /// Replaces `path` with the concatenation of `parts` durably (the parts are written one after the
    /// other, never copied into one buffer).
    public static func write(_ parts: [[UInt8]], to path: String) throws {
        let temporary = temporaryPath(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CheckpointError.io(path: temporary, detail: "cannot create: \(lastError())") }
        func fail(_ what: String) -> CheckpointError {
            let error = CheckpointError.io(path: temporary, detail: "\(what): \(lastError())")
            close(fd)
            unlink(temporary)
            return error
        }
        for part in parts {
            let complete = part.withUnsafeBytes { buffer -> Bool in
                var written = 0
                while written < buffer.count {
                    let n = systemWrite(fd, buffer.baseAddress! + written, buffer.count - written)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { return false }
                    written += n
                }
                return true
            }
            if !complete { throw fail("write failed") }
        }
        guard fsync(fd) == 0 else { throw fail("fsync failed") }
        guard close(fd) == 0 else {
            let error = CheckpointError.io(path: temporary, detail: "close failed: \(lastError())")
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let error = CheckpointError.io(path: path, detail: "rename from \(temporary) failed: \(lastError())")
            unlink(temporary)
            throw error
        }
        try syncDirectory(of: path)
    }

    /// fsyncs the directory holding `path`, so a rename or unlink in it survives a power loss.
    public static func syncDirectory(of path: String) throws {
        let directory = split(path).directory
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointError.io(path: directory, detail: "cannot open the directory to fsync it: \(lastError())") }
        defer { close(fd) }
        // EINVAL: a file system that cannot sync directories (some network mounts); nothing more to do there.
        if fsync(fd) != 0 && errno != EINVAL {
            throw CheckpointError.io(path: directory, detail: "directory fsync failed: \(lastError())")
        }
    }

    /// The directory ("." when none) and the last component of `path`.
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    private static func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.write(fd, buffer, count)
        #else
        Darwin.write(fd, buffer, count)
        #endif
    }

    static func lastError() -> String { String(cString: strerror(errno)) }
}
