// Reads a whole file into memory, and on failure says why in the operating system's words; opens only
// regular files, and never blocks on a named pipe or device while doing so. Not for: parsing what was
// read, or streaming large shards (the shard reader does that).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum FileBytes {
    /// Opens `path` read-only and returns the descriptor and the file's size, or throws unless it is a
    /// regular file. The open is non-blocking (a named pipe with no writer would otherwise hang it); the
    /// flag is cleared again once the file is known to be regular. Follows symbolic links.
    public static func openRegular(_ path: String) throws(FileReadFailure) -> (fd: Int32, size: Int) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw FileReadFailure(errno: errno) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let failure = FileReadFailure(errno: errno)
            close(fd)
            throw failure
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw FileReadFailure(reason: "not a regular file (\(kind(info.st_mode)))")
        }
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        return (fd, Int(info.st_size))
    }

    /// What kind of file a non-regular mode is, in words.
    private static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a named pipe"
        case S_IFCHR, S_IFBLK: return "a device"
        case S_IFSOCK: return "a socket"
        default: return "not a plain file"
        }
    }

    /// The bytes of the regular file at `path`, or an error text such as "No such file or directory".
    /// A file over `maxBytes` is refused before anything is allocated for it.
    public static func contents(of path: String, maxBytes: Int = Int.max) throws(FileReadFailure) -> [UInt8] {
        let (fd, size) = try openRegular(path)
        defer { close(fd) }
        guard size <= maxBytes else {
            throw FileReadFailure(reason: "the file is \(size) bytes, over the limit of \(maxBytes) bytes")
        }
        var failure: FileReadFailure?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            initialized = 0
            while initialized < size {
                let n = read(fd, buffer.baseAddress! + initialized, size - initialized)
                if n < 0 && errno == EINTR { continue }
                if n < 0 { failure = FileReadFailure(errno: errno); return }
                if n == 0 { failure = FileReadFailure(reason: "file shrank while being read"); return }
                initialized += n
            }
        }
        if let failure { throw failure }
        return bytes
    }
}

/// Why a file could not be read.
public struct FileReadFailure: Error, CustomStringConvertible {
    public let description: String
    init(reason: String) { description = reason }
    init(errno code: Int32) { description = String(cString: strerror(code)) }
}
