// Reads a whole file into memory, and on failure says why in the operating system's words.
// Not for: parsing what was read, or streaming large shards (the shard reader does that).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum FileBytes {
    /// The bytes of the regular file at `path`, or an error text such as "No such file or directory". A
    /// named pipe or device is refused without blocking; a file larger than `limit` bytes is refused before
    /// anything is allocated.
    static func contents(of path: String, limit: Int = Int.max) throws(FileReadFailure) -> [UInt8] {
        // O_NONBLOCK: open(2) of a FIFO without a writer would wait forever, before fstat could reject it.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw FileReadFailure(errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileReadFailure(errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw FileReadFailure(reason: "not a regular file") }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        let size = Int(info.st_size)
        guard size <= limit else { throw FileReadFailure(reason: "\(size) bytes, more than the \(limit) accepted") }
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
struct FileReadFailure: Error, CustomStringConvertible {
    let description: String
    init(reason: String) { description = reason }
    init(errno code: Int32) { description = String(cString: strerror(code)) }
}
