// What the fault tests need around a running `mpirun`: its ranks' process ids (to kill or stop one rank),
// whether a process still runs, and a small tmpfs to fill or make read-only.
// Not for: starting processes (Subprocess.swift) or judging what they printed.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum MPIJob {
    /// The ranks of one job on this node, by MPI rank: processes that carry OMPI_COMM_WORLD_RANK in their
    /// environment and `marker` (the job's run directory) in their command line. Matched by command line, not
    /// by parent: OpenMPI puts each rank in a process group of its own, and under a loaded suite the parent
    /// link was seen to miss both ranks of a running job.
    public static func rankPids(commandLineContains marker: String) -> [Int: pid_t] {
        var ranks: [Int: pid_t] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry), let commandLine = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                  commandLine.split(separator: 0).contains(where: { String(decoding: $0, as: UTF8.self) == marker }),
                  let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { continue }
            for variable in environ.split(separator: 0) {
                let text = String(decoding: variable, as: UTF8.self)
                if text.hasPrefix("OMPI_COMM_WORLD_RANK="), let rank = Int(text.dropFirst("OMPI_COMM_WORLD_RANK=".count)) { ranks[rank] = pid }
            }
        }
        return ranks
    }

    /// The parent process id from /proc/PID/stat, nil when the process is gone.
    public static func parent(of pid: pid_t) -> pid_t? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? pid_t(fields[1]) : nil
    }

    /// Whether `pid` runs (or is stopped); false once it exited, zombies included.
    public static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return !stat[stat.index(after: close)...].hasPrefix(" Z") && !stat[stat.index(after: close)...].hasPrefix(" X")
    }

    /// SIGKILLs those of `pids` that still run (cleanup after a test that stopped or orphaned a rank).
    public static func killLeftovers(_ pids: some Sequence<pid_t>) {
        for pid in pids where isAlive(pid) { kill(pid, SIGKILL) }
    }
}

/// A tmpfs mounted for one test (a small disk to fill, or a read-only one). Needs root with
/// CAP_SYS_ADMIN: `permitted` says whether this machine allows it.
public final class TmpfsMount {
    public let path: String
    private var mounted = true

    /// Whether mounting a tmpfs works here (tried once, on a scratch directory).
    public static let permitted: Bool = {
        guard getuid() == 0, let dir = try? makeTemporaryDirectory("mount-probe") else { return false }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard (try? command("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir])) != nil else { return false }
        _ = try? command("/bin/umount", [dir])
        return true
    }()

    /// Mounts a tmpfs of `bytes` at `path` (created if missing).
    public init(at path: String, bytes: Int) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try TmpfsMount.command("/bin/mount", ["-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", path])
        self.path = path
    }

    deinit { unmount() }

    public func remountReadOnly() throws {
        try TmpfsMount.command("/bin/mount", ["-o", "remount,ro", path])
    }

    /// Unmounts (lazily if something still holds it open).
    public func unmount() {
        guard mounted else { return }
        mounted = false
        if (try? TmpfsMount.command("/bin/umount", [path])) == nil { _ = try? TmpfsMount.command("/bin/umount", ["-l", path]) }
    }

    /// Bytes free for an unprivileged writer (statvfs f_bavail).
    public var freeBytes: Int {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return 0 }
        return Int(s.f_bavail) * Int(s.f_frsize)
    }

    /// Appends zeros to `file` until the file system has no room left (the writes fail with ENOSPC);
    /// returns the bytes added.
    @discardableResult
    public static func fill(_ file: String) -> Int {
        let fd = open(file, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0, count: 4096)
        var total = 0
        while true {
            let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            total += n
        }
        // A last partial page, byte by byte.
        var one: UInt8 = 0
        while write(fd, &one, 1) == 1 { total += 1 }
        return total
    }

    /// Runs a system command to completion; throws with its output when it fails.
    @discardableResult
    static func command(_ path: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw SubprocessError("\(path) \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): \(output)")
        }
        return output
    }
}
