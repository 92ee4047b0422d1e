// A regular file opened for reading at offsets (pread), so a reader takes the bytes it has checked it needs
// and nothing sized by what the file claims; errors in the operating system's words, naming the file. Not
// for: parsing (CheckpointManifest, SafeTensors) or writing (AtomicFile).

import CarinaData
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open, regular, read-only file. Opening never blocks: a named pipe, a device, a socket or a directory
/// is an error naming the file, not a hang (FileBytes.openRegular).
final class ReadOnlyFile: @unchecked Sendable {
    let path: String
    /// The file's size when it was opened.
    let size: Int
    private let fd: Int32

    init(path: String) throws {
        // Non-blocking open, regular files only: the data layer's rule for every file it reads.
        do {
            let opened = try FileBytes.openRegular(path)
            fd = opened.fd
            size = opened.size
        } catch {
            throw CheckpointError.unreadable(path: path, detail: error.description)
        }
        self.path = path
    }

    deinit { close(fd) }

    /// Fills `buffer` with the file's bytes `offset ..< offset + buffer.count`; a file that ends before
    /// (it shrank after it was opened) is a truncation error naming the byte where it ended.
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw CheckpointError.unreadable(path: path, detail: AtomicFile.lastError()) }
            if n == 0 {
                throw CheckpointError.truncated(path: path, detail: "the file ended at byte \(offset + done) while bytes \(offset)..<\(offset + buffer.count) "
                                                + "were read (it had \(size) bytes when opened)")
            }
            done += n
        }
    }

    /// The bytes `offset ..< offset + count`, which the caller has checked lie within `size`.
    func bytes(at offset: Int, count: Int) throws -> [UInt8] {
        precondition(offset >= 0 && count >= 0 && count <= size - offset, "read past the checked size")
        var failure: (any Error)?
        let out = [UInt8](unsafeUninitializedCapacity: count) { buffer, written in
            do {
                try read(at: offset, into: UnsafeMutableRawBufferPointer(buffer))
                written = count
            } catch {
                failure = error
                written = 0
            }
        }
        if let failure { throw failure }
        return out
    }

    /// The first `limit` bytes of a small regular file (a `latest` pointer), or the error why not.
    static func smallFile(_ path: String, limit: Int) throws -> [UInt8] {
        let file = try ReadOnlyFile(path: path)
        guard file.size <= limit else {
            throw CheckpointError.corrupt(path: path, detail: "\(file.size) bytes; a pointer file holds one file name (at most \(limit) bytes)")
        }
        return try file.bytes(at: 0, count: file.size)
    }
}

/// Memory the machine has, for refusing an allocation a file asks for that could never succeed.
enum PhysicalMemory {
    static var bytes: Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, pageSize > 0 else { return Int.max }
        let (total, overflow) = pages.multipliedReportingOverflow(by: pageSize)
        return overflow ? Int.max : total
    }

    static func gib(_ bytes: Int) -> String { String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) }
}
