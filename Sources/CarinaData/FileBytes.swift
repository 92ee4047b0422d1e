// Reads a whole file into memory, and on failure says why in the operating system's words.
// Not for: parsing what was read, or streaming large shards (the shard reader does that).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum FileBytes {
    /// The bytes of the regular file at `path`, or an error text such as "No such file or directory".
    static func contents(of path: String) throws(FileReadFailure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileReadFailure(errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileReadFailure(errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw FileReadFailure(reason: "not a regular file") }
        let size = Int(info.st_size)
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
