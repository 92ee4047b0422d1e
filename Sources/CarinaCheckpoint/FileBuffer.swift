// A file's bytes read into memory with read(2), and the file's size; errors in the operating system's
// words, naming the file. Not for: parsing (CheckpointManifest) or writing (AtomicFile).

import CarinaData
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Owned, read-only bytes of (a prefix of) a regular file.
final class FileBuffer: @unchecked Sendable {
    /// The bytes read: the whole file, or its first `limit` bytes.
    let bytes: UnsafeRawBufferPointer
    /// The file's size when it was opened.
    let fileSize: Int
    private let allocation: UnsafeMutableRawBufferPointer

    /// Reads the regular file at `path`, all of it or its first `limit` bytes.
    init(path: String, limit: Int? = nil) throws {
        func fail(_ detail: String) -> CheckpointError { .unreadable(path: path, detail: detail) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw fail(AtomicFile.lastError()) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw fail(AtomicFile.lastError()) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw fail("not a regular file") }
        fileSize = Int(info.st_size)
        let count = min(fileSize, limit ?? fileSize)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 64)
        var done = 0
        while done < count {
            let n = read(fd, buffer.baseAddress! + done, count - done)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                buffer.deallocate()
                throw fail(n < 0 ? AtomicFile.lastError() : "the file shrank from \(fileSize) to \(done) bytes while being read")
            }
            done += n
        }
        allocation = buffer
        bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
    }

    deinit { allocation.deallocate() }
}
