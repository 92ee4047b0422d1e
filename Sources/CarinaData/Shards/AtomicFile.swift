// Files that appear complete or not at all: written under a temporary name, fsynced, renamed into place,
// and the directory fsynced. Not for: what is written (ShardWriter decides the bytes).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file being written under `.NAME.partial` in its directory; `commit()` makes it `NAME`. Dropped
/// without a commit (an error, a kill), it never appears under the final name.
final class AtomicFile {
    let path: String
    let temporaryPath: String
    private var fd: Int32
    private(set) var bytesWritten = 0

    init(path: String) throws {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        self.path = path
        self.temporaryPath = directory + "/." + name + ".partial"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AtomicFile.failure(temporaryPath, "cannot create") }
    }

    deinit {
        if fd >= 0 {
            close(fd)
            unlink(temporaryPath)
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = systemWrite(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw AtomicFile.failure(temporaryPath, "cannot write") }
            done += n
        }
        bytesWritten += bytes.count
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw throws in try write(raw) }
    }

    /// fsync, close, rename to the final name, fsync the directory.
    func commit() throws {
        guard fsync(fd) == 0 else { throw AtomicFile.failure(temporaryPath, "cannot fsync") }
        close(fd)
        fd = -1
        guard rename(temporaryPath, path) == 0 else {
            let failure = AtomicFile.failure(path, "cannot rename \(temporaryPath) to")
            unlink(temporaryPath)
            throw failure
        }
        AtomicFile.syncDirectory(of: path)
    }

    /// Writes a whole small file atomically.
    static func write(_ bytes: [UInt8], to path: String) throws {
        let file = try AtomicFile(path: path)
        try file.write(bytes)
        try file.commit()
    }

    /// Makes a rename in the directory durable (best effort: some file systems refuse fsync on directories).
    static func syncDirectory(of path: String) {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let dfd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }

    private static func failure(_ path: String, _ what: String) -> DataError {
        DataError.badDataset(path: path, problem: "\(what): \(String(cString: strerror(errno)))")
    }
}

/// The system call, named so that AtomicFile's own `write` does not shadow it.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }
