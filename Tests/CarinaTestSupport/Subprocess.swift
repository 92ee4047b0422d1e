// Runs a program (mpirun, carina) as a subprocess: to completion with a time limit, so a hang fails a test
// instead of CI, or in the background to be killed at a chosen moment (the checkpoint crash test).
// Not for: finding the program (CarinaBinary.swift) or judging what it printed.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a finished subprocess left behind.
public struct SubprocessResult: Sendable {
    /// The exit status, or 128 + the signal that ended it.
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

public struct SubprocessError: Error, CustomStringConvertible {
    public let description: String
    /// How the process ended when it had to be stopped at its time limit (its status says by which signal).
    public let stopped: SubprocessResult?
    public init(_ description: String, stopped: SubprocessResult? = nil) {
        self.description = description
        self.stopped = stopped
    }
}

/// A started subprocess in its own process group, its output going to temporary files (so no pipe can
/// fill up and block it).
///
/// posix_spawn, not Foundation's Process: the test runner's threads block SIGTERM and SIGINT and a
/// child spawned by Process inherits that mask, so it could not be stopped short of SIGKILL, and a
/// SIGKILLed mpirun leaves its ranks spinning. Here the child gets an empty mask, default signal
/// handlers and its own process group.
public final class Subprocess: @unchecked Sendable {
    public let pid: pid_t
    public let executable: URL
    public let arguments: [String]
    private let scratch: URL
    private var rawStatus: Int32 = 0
    private var reaped = false

    public init(_ executable: URL, _ arguments: [String], environment extra: [String: String] = [:]) throws {
        self.executable = executable
        self.arguments = arguments
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("carina-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, scratch.appendingPathComponent("stdout").path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, scratch.appendingPathComponent("stderr").path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let environment = ProcessInfo.processInfo.environment.merging(extra) { _, new in new }
        let argv = ([executable.path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable.path, &actions, &attributes, argv, envp)
        guard spawned == 0 else {
            try? FileManager.default.removeItem(at: scratch)
            throw SubprocessError("cannot start \(executable.path): \(String(cString: strerror(spawned)))")
        }
        self.pid = pid
    }

    deinit {
        if !reaped {
            kill(-pid, SIGKILL)
            waitpid(pid, &rawStatus, 0)
        }
        try? FileManager.default.removeItem(at: scratch)
    }

    /// Whether it has exited (reaping it if so).
    public func hasExited() -> Bool {
        if !reaped && waitpid(pid, &rawStatus, WNOHANG) == pid { reaped = true }
        return reaped
    }

    /// Sends `signal` to its whole process group (mpirun, its daemon and its ranks).
    public func signal(_ signal: Int32) {
        if !reaped { kill(-pid, signal) }
    }

    /// SIGKILLs the group and waits until the process is gone.
    public func killAndWait() -> SubprocessResult {
        signal(SIGKILL)
        if !reaped {
            waitpid(pid, &rawStatus, 0)
            reaped = true
        }
        return result
    }

    /// Waits until it exits or `timeout` passes; then SIGTERM, a 5 s grace, SIGKILL, and an error. The
    /// clock runs on a thread of its own, not on Swift's cooperative pool: tests that block the pool's few
    /// threads (2 on a 2-core machine) must not delay the kill until the process ends by itself.
    public func wait(timeout: Duration) async throws -> SubprocessResult {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<SubprocessResult, any Error>) in
            let thread = Thread { continuation.resume(with: Result { try self.waitBlocking(timeout: timeout) }) }
            thread.name = "carina.test.subprocess-wait"
            thread.start()
        }
    }

    /// `wait(timeout:)` on the calling thread.
    public func waitBlocking(timeout: Duration) throws -> SubprocessResult {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while !hasExited() && clock.now < deadline { blockingSleep(seconds: 0.02) }
        if !hasExited() {
            signal(SIGTERM)
            let grace = clock.now + .seconds(5)
            while !hasExited() && clock.now < grace { blockingSleep(seconds: 0.02) }
            let result = killAndWait()
            throw SubprocessError("\(executable.path) \(arguments.joined(separator: " ")) did not finish within \(timeout); killed "
                                  + "(status \(result.status)).\nstdout:\n\(result.stdout)\nstderr:\n\(result.stderr)", stopped: result)
        }
        return result
    }

    /// The status (once reaped) and what it has printed so far.
    public var result: SubprocessResult {
        // status: exit code in bits 8-15 when bits 0-6 are zero, else the signal number in bits 0-6.
        let signal = rawStatus & 0x7F
        return SubprocessResult(status: signal == 0 ? (rawStatus >> 8) & 0xFF : 128 + signal,
                                stdout: (try? String(contentsOf: scratch.appendingPathComponent("stdout"), encoding: .utf8)) ?? "",
                                stderr: (try? String(contentsOf: scratch.appendingPathComponent("stderr"), encoding: .utf8)) ?? "")
    }
}

/// Runs `executable` with `arguments` and extra environment to completion; after `timeout`, SIGTERM then
/// SIGKILL go to its whole process group and this throws.
public func runSubprocess(_ executable: URL, _ arguments: [String], environment extra: [String: String] = [:],
                          timeout: Duration = .seconds(60)) async throws -> SubprocessResult {
    try await Subprocess(executable, arguments, environment: extra).wait(timeout: timeout)
}

/// Sleeps this thread (not a task): a delay that holds whatever Swift's cooperative pool is doing, for the
/// tests that time a signal to a subprocess.
public func blockingSleep(seconds: Double) {
    usleep(useconds_t(Swift.max(0, seconds) * 1e6))
}
