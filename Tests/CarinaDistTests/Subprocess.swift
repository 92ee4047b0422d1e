// Runs a program (mpirun, carina) as a subprocess with a time limit, so a hang fails a test instead of CI.
// Not for: finding the program (CarinaBinary.swift) or judging what it printed.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a finished subprocess left behind.
struct SubprocessResult {
    /// The exit status, or 128 + the signal that ended it.
    var status: Int32
    var stdout: String
    var stderr: String
}

struct SubprocessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `executable` with `arguments` and extra environment; after `timeout`, SIGTERM then SIGKILL go
/// to its whole process group (mpirun and its ranks) and this throws. Output goes to temporary files,
/// so no pipe can fill up and block it.
///
/// posix_spawn, not Foundation's Process: the test runner's threads block SIGTERM and SIGINT and a
/// child spawned by Process inherits that mask, so it could not be stopped short of SIGKILL, and a
/// SIGKILLed mpirun leaves its ranks spinning. Here the child gets an empty mask, default signal
/// handlers and its own process group.
func runSubprocess(_ executable: URL, _ arguments: [String], environment extra: [String: String] = [:],
                   timeout: Duration = .seconds(60)) async throws -> SubprocessResult {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("carina-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outPath = scratch.appendingPathComponent("stdout").path
    let errPath = scratch.appendingPathComponent("stderr").path

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

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
        throw SubprocessError("cannot start \(executable.path): \(String(cString: strerror(spawned)))")
    }

    let clock = ContinuousClock()
    var status: Int32 = 0
    func exited() -> Bool { waitpid(pid, &status, WNOHANG) == pid }
    var finished = exited()
    let deadline = clock.now + timeout
    while !finished && clock.now < deadline {
        try await Task.sleep(for: .milliseconds(20))
        finished = exited()
    }
    let timedOut = !finished
    if timedOut {
        kill(-pid, SIGTERM)  // the whole group: mpirun, its daemon and its ranks
        let grace = clock.now + .seconds(5)
        while !finished && clock.now < grace {
            try await Task.sleep(for: .milliseconds(20))
            finished = exited()
        }
        kill(-pid, SIGKILL)
        if !finished { waitpid(pid, &status, 0) }
    }
    // status: exit code in bits 8-15 when bits 0-6 are zero, else the signal number in bits 0-6.
    let signal = status & 0x7F
    let result = SubprocessResult(status: signal == 0 ? (status >> 8) & 0xFF : 128 + signal,
                                  stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                                  stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    if timedOut {
        throw SubprocessError("\(executable.path) \(arguments.joined(separator: " ")) did not finish within \(timeout); killed.\n"
                              + "stdout:\n\(result.stdout)\nstderr:\n\(result.stderr)")
    }
    return result
}
