// Files that appear complete or not at all, for everything Carina writes that must survive a kill (shards,
// their indexes, dataset.json, checkpoints, the `latest` and `best` pointers, exports): written under a
// temporary name in the same directory (`.NAME.tmp-PID`), fsynced, renamed over the target, and the directory
// fsynced. Streamed (a shard grows sample by sample) or in one call. Not for: what is written.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A write that could not be made durable, naming the file and the system's reason.
public struct FileWriteError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let detail: String
    public var description: String { "\(path): \(detail)" }
}

/// A file being written under `.NAME.tmp-PID` in its directory; `commit()` makes it `NAME`. Dropped
/// without a commit (an error, a kill), it never appears under the final name.
public final class AtomicFile {
    public let path: String
    public let temporaryPath: String
    private var fd: Int32
    public private(set) var bytesWritten = 0

    public init(path: String) throws {
        self.path = path
        temporaryPath = AtomicFile.temporaryPath(for: path)
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AtomicFile.failure(temporaryPath, "cannot create") }
    }

    deinit {
        if fd >= 0 {
            close(fd)
            unlink(temporaryPath)
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = systemWrite(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw AtomicFile.failure(temporaryPath, "cannot write") }
            done += n
        }
        bytesWritten += bytes.count
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw throws in try write(raw) }
    }

    /// fsync, close, rename to the final name, fsync the directory.
    public func commit() throws {
        guard fsync(fd) == 0 else { throw AtomicFile.failure(temporaryPath, "cannot fsync") }
        let closed = close(fd)
        fd = -1
        guard closed == 0 else {
            let failure = AtomicFile.failure(temporaryPath, "cannot close")
            unlink(temporaryPath)
            throw failure
        }
        guard rename(temporaryPath, path) == 0 else {
            let failure = AtomicFile.failure(path, "cannot rename \(temporaryPath) to it")
            unlink(temporaryPath)
            throw failure
        }
        try AtomicFile.syncDirectory(of: path)
    }

    /// Replaces `path` with the concatenation of `parts` durably (written one after the other, never
    /// copied into one buffer).
    public static func write(_ parts: [[UInt8]], to path: String) throws {
        let file = try AtomicFile(path: path)
        for part in parts { try file.write(part) }
        try file.commit()
    }

    /// Replaces `path` with `bytes` durably.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try write([bytes], to: path)
    }

    /// The temporary name `path` is written under first: `.NAME.tmp-PID` in the same directory, so the
    /// rename never crosses file systems and no `step-*.ckpt` or `shard-*.tar` pattern can match it.
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

    /// fsyncs the directory holding `path`, so a rename or unlink in it survives a power loss.
    public static func syncDirectory(of path: String) throws {
        let directory = split(path).directory
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw failure(directory, "cannot open the directory to fsync it") }
        defer { close(dfd) }
        // EINVAL: a file system that cannot sync directories (some network mounts); nothing more to do there.
        if fsync(dfd) != 0 && errno != EINVAL { throw failure(directory, "directory fsync failed") }
    }

    /// The directory ("." when none) and the last component of `path`.
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    /// The system's description of the last error (errno).
    public static func lastError() -> String { String(cString: strerror(errno)) }

    private static func failure(_ path: String, _ what: String) -> FileWriteError {
        FileWriteError(path: path, detail: "\(what): \(lastError())")
    }
}

/// The system call, named so that AtomicFile's own `write` does not shadow it.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, buffer, count)
    #else
    Darwin.write(fd, buffer, count)
    #endif
}
