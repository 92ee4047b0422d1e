// A shard file opened for reading at any offset (pread), safe to share between threads.
// Not for: tar structure (TarReader, ShardDataset) or writing (ShardWriter).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open read-only file. `pread` does not move a shared file position, so concurrent reads are safe.
final class ShardFile: Sendable {
    let path: String
    let size: Int
    private let fd: Int32

    /// Opens a regular file (a named pipe, device or directory is refused without blocking on it).
    init(path: String) throws {
        let opened: (fd: Int32, size: Int)
        do {
            opened = try FileBytes.openRegular(path)
        } catch {
            throw DataError.badShard(file: path, member: nil, problem: "cannot open: \(error)")
        }
        self.path = path
        self.fd = opened.fd
        self.size = opened.size
    }

    deinit { close(fd) }

    /// Up to `count` bytes from `offset`; fewer only where the file (as it was when opened) ends first, so
    /// a count read from a damaged index never sizes an allocation beyond the file.
    func read(at offset: Int, count requested: Int) throws -> [UInt8] {
        guard offset >= 0, requested >= 0 else {
            throw DataError.badShard(file: path, member: nil, problem: "cannot read \(requested) bytes at byte \(offset)")
        }
        let count = min(requested, max(0, size - offset))
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = 0
            while initialized < count {
                let n = pread(fd, buffer.baseAddress! + initialized, count - initialized, off_t(offset + initialized))
                if n < 0 && errno == EINTR { continue }
                if n < 0 { failure = errno; return }
                if n == 0 { return }
                initialized += n
            }
        }
        if failure != 0 {
            throw DataError.badShard(file: path, member: nil,
                                     problem: "read failed at byte \(offset): \(String(cString: strerror(failure)))")
        }
        return bytes
    }
}
