// Faults of a real cluster, each under a real `mpirun -np 2` of the built `carina train` on the tiny CLIP
// config: a rank SIGKILLed, a rank stopped (SIGSTOP) inside a collective, SIGTERM to mpirun (pre-emption),
// a disk that fills during a checkpoint, a read-only run directory. Each asserts what the job promises —
// it ends, says which rank or path, and leaves checkpoints that verify and resume — never how fast.
// Not for: the kill-at-any-moment property of one process (TrainingKillTests) or collectives' arithmetic.
import CarinaCheckpoint
import CarinaTestSupport
import Foundation
import Testing

private let mpirun = CarinaBinary.onPath("mpirun")
private let environment = ["OPENBLAS_NUM_THREADS": "1", "CARINA_THREADS": "1", "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"]
private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The tiny CLIP run (as TrainingKillTests), `steps` long, a checkpoint every 3 steps, with `extra` lines
/// added to its train section.
private func config(steps: Int, extra: [String] = []) -> String {
    tinyCLIPRunConfig(steps: steps, checkpointEvery: 3, eval: "  zeroShot: false\n  linearProbe: false\n  compareUntrained: false\n  maxSamples: 8")
        .replacingOccurrences(of: "  logEvery: 100", with: (["  logEvery: 100"] + extra.map { "  " + $0 }).joined(separator: "\n"))
}

/// A scratch directory holding `tiny.yaml` with `text`.
private func scratch(_ name: String, config text: String) throws -> (dir: String, config: String) {
    let dir = try makeTemporaryDirectory(name)
    try text.write(toFile: dir + "/tiny.yaml", atomically: true, encoding: .utf8)
    return (dir, dir + "/tiny.yaml")
}

/// `mpirun [options] -np 2 carina train --config CONFIG --run-dir RUN [more]`, started in the background.
private func startJob(_ config: String, run: String, mpirunOptions: [String] = [], more: [String] = []) throws -> Subprocess {
    try Subprocess(try #require(mpirun), mpirunOptions + ["-np", "2", try CarinaBinary.locate().path, "train", "--config", config, "--run-dir", run] + more,
                   environment: environment)
}

/// Waits until the run has `count` checkpoints (the job is under way), the job ended, or 60 s passed (only
/// the guard against a job that never starts). Returns false, recording why, when no checkpoint came.
private func waitForCheckpoints(_ run: String, _ job: Subprocess, count: Int = 1, newerThan step: Int = -1) async throws -> Bool {
    let store = try CheckpointStore(directory: run + "/checkpoints")
    func ready() -> Bool { store.list().count >= count && (store.list().first.flatMap { CheckpointStore.step(of: ($0 as NSString).lastPathComponent) } ?? -1) > step }
    // Polled with a blocking sleep, not Task.sleep: while the whole suite runs, other tests hold the 2-core
    // cooperative pool for tens of seconds, and an awaiting test woke only after its 400-step job had ended.
    for _ in 0..<1200 where !ready() && !job.hasExited() { usleep(50_000) }
    if !ready() {
        Issue.record(job.hasExited() ? "the job ended before its checkpoint:\n\(job.result.stdout)\n\(job.result.stderr)" : "no checkpoint after 60 s")
        return false
    }
    return true
}

/// The two ranks' process ids of the job training into `run`, waiting (at most 30 s) until both exist.
private func ranks(of job: Subprocess, run: String) async throws -> [Int: pid_t] {
    var found: [Int: pid_t] = [:]
    for _ in 0..<600 {
        found = MPIJob.rankPids(commandLineContains: run)
        if found.count == 2 || job.hasExited() { break }
        usleep(50_000)  // blocking, as in waitForCheckpoints
    }
    if found.count < 2 && job.hasExited() { Issue.record("the job ended before its ranks were found:\n\(job.result.stdout)\n\(job.result.stderr)") }
    return found
}

/// Every checkpoint file of the run verifies, `latest` names one that does, and no temporary file is left;
/// returns the newest valid checkpoint's step.
@discardableResult
/// With `jobRunning`, a temporary file is allowed: the job may be writing its next checkpoint at that moment (it is
/// removed when the write fails, and the check after the job ends finds none).
private func checkpointsAreIntact(_ run: String, jobRunning: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int? {
    let store = try CheckpointStore(directory: run + "/checkpoints")
    for file in store.list() {
        #expect(throws: Never.self, "\(file) does not verify", sourceLocation: sourceLocation) { try CheckpointFile.verify(file) }
    }
    guard let valid = try store.latestValid() else {
        Issue.record("no checkpoint verifies in \(run)", sourceLocation: sourceLocation)
        return nil
    }
    #expect(valid.skipped.isEmpty, "damaged: \(valid.skipped.map(\.reason))", sourceLocation: sourceLocation)
    #expect(store.latestPointer == valid.path, "latest names \(store.latestPointer ?? "nothing"), the newest valid is \(valid.path)",
            sourceLocation: sourceLocation)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: run + "/checkpoints")) ?? []
    #expect(jobRunning || !names.contains { $0.contains(".tmp-") }, "temporary files left: \(names)", sourceLocation: sourceLocation)
    return valid.contents.state.step
}

/// The model and optimizer tensors of two runs' newest checkpoints are equal bit for bit.
func expectBitIdentical(_ a: String, _ b: String, steps: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let x = try #require(try CheckpointStore(directory: a + "/checkpoints").latestValid()).contents
    let y = try #require(try CheckpointStore(directory: b + "/checkpoints").latestValid()).contents
    #expect(x.state.step == steps && y.state.step == steps, "steps \(x.state.step) and \(y.state.step)", sourceLocation: sourceLocation)
    #expect(x.model.count == y.model.count && x.optimizer.count == y.optimizer.count, sourceLocation: sourceLocation)
    for (p, q) in zip(x.model + x.optimizer, y.model + y.optimizer) {
        #expect(p.name == q.name && p.tensor.scalars == q.tensor.scalars, "\(p.name) differs", sourceLocation: sourceLocation)
    }
}

/// The step every rank reports in its "rank R/2: stopped by signal S after step N" line, nil unless both
/// ranks reported the same step.
private func commonStopStep(_ stderr: String, signal: Int32) -> Int? {
    var steps: [Int: Int] = [:]
    for line in stderr.split(separator: "\n") {
        for rank in 0..<2 where line.hasPrefix("rank \(rank)/2: stopped by signal \(signal) after step ") {
            steps[rank] = Int(line.split(separator: " ")[8].trimmingCharacters(in: .punctuationCharacters))
        }
    }
    guard steps.count == 2, steps[0] == steps[1] else { return nil }
    return steps[0]
}

@Suite(.serialized, .enabled(if: mpirun != nil || ProcessInfo.processInfo.environment["CI"] == "true",
                             "mpirun not on PATH (install openmpi-bin, e.g. launch/setup.sh); required when CI=true"))
struct ClusterFaultTests {
    /// Item 1. OpenMPI notices the dead rank by itself: mpirun sends the others SIGCONT, SIGTERM a second
    /// later (odls_base_sigkill_timeout), SIGKILL a second after that, prints which rank died of which
    /// signal, and exits non-zero. The promise tested: the job ends within 30 s (usually ~2 s) naming rank 1.
    @Test func aRankKilledMidStepEndsTheJobNamingItAndTheRunResumes() async throws {
        _ = try #require(mpirun, "mpirun not on PATH; CI needs it")
        let (dir, config) = try scratch("fault-kill", config: config(steps: 400))
        let run = dir + "/run"
        let job = try startJob(config, run: run)
        guard try await waitForCheckpoints(run, job) else { return }
        let pids = try await ranks(of: job, run: run)
        defer { MPIJob.killLeftovers(pids.values) }
        let victim = try #require(pids[1], "rank 1 of the job not found among mpirun's children: \(pids)")
        blockingSleep(seconds: Double.random(in: 0...0.03))  // somewhere inside a step (steps take ~20 ms)
        kill(victim, SIGKILL)
        let ended = try await job.wait(timeout: .seconds(30))
        let output = ended.stdout + ended.stderr
        #expect(ended.status != 0, "the job exited 0 after losing a rank:\n\(output)")
        #expect(output.contains("process rank 1") && output.contains("signal 9"), "the job's output does not name rank 1 and signal 9:\n\(output)")
        if let survivor = pids[0] { #expect(!MPIJob.isAlive(survivor), "rank 0 still runs after the job ended") }
        let saved = try #require(try checkpointsAreIntact(run))

        let resumed = try await runSubprocess(try #require(mpirun), ["-np", "2", try CarinaBinary.locate().path, "train", "--config", config,
                                                                     "--run-dir", run, "--resume", "auto"], environment: environment, timeout: .seconds(240))
        #expect(resumed.status == 0, "\(resumed.stdout)\n\(resumed.stderr)")
        #expect(resumed.stdout.contains("at step \(saved) (saved on 2 rank(s), now 2)"), "did not resume from step \(saved):\n\(resumed.stdout)")
        #expect(resumed.stdout.contains("finished 400 steps"), "\(resumed.stdout)")
    }

    /// Item 2. A stopped rank never arrives: the other waits train.collectiveTimeout (5 s here), holds a
    /// roll call (1 s) and ends the job through MPI_Abort, naming rank 1 as missing. Guard: 120 s.
    @Test func aStoppedRankEndsTheJobAtTheCollectiveTimeoutNamingIt() async throws {
        _ = try #require(mpirun, "mpirun not on PATH; CI needs it")
        let (dir, config) = try scratch("fault-stop", config: config(steps: 1_000_000, extra: ["collectiveTimeout: 5"]))
        let run = dir + "/run"
        let job = try startJob(config, run: run)
        guard try await waitForCheckpoints(run, job) else { return }
        let pids = try await ranks(of: job, run: run)
        defer { MPIJob.killLeftovers(pids.values) }
        let victim = try #require(pids[1], "rank 1 of the job not found among mpirun's children: \(pids)")
        kill(victim, SIGSTOP)
        let ended = try await job.wait(timeout: .seconds(120))
        #expect(ended.status != 0, "\(ended.stderr)")
        #expect(ended.stderr.contains("rank 0/2: train failed:") && ended.stderr.contains("within 5.0 s (the collective timeout, train.collectiveTimeout)"),
                "rank 0 did not report the timeout:\n\(ended.stderr)")
        #expect(ended.stderr.contains("missing: rank 1; rank 1 did not answer a roll call"), "rank 1 not named as missing:\n\(ended.stderr)")
        // mpirun resumes the stopped rank (SIGCONT) before killing it: its stopped time must not count, or it
        // would blame rank 0.
        #expect(!ended.stderr.contains("missing: rank 0"), "the stopped rank blamed rank 0:\n\(ended.stderr)")
        try checkpointsAreIntact(run)
    }

    /// Item 3. OpenMPI 4.1's mpirun does not forward SIGTERM at once: it sends SIGCONT, then SIGTERM after
    /// odls_base_sigkill_timeout (1 s by default), then SIGKILL as long again, and exits 1 whatever the ranks
    /// do. So launch/mpirun.sh gives it a grace (CARINA_STOP_GRACE) and turns a SIGTERM of its own into
    /// SIGUSR1, which mpirun forwards at once. Both paths: every rank stops after the same step, one
    /// checkpoint, exit 0 — and the resumed run ends bit-identical to one never stopped.
    @Test func sigtermToMpirunStopsEveryRankAfterTheSameStepAndResumesBitIdentically() async throws {
        let mpirun = try #require(mpirun, "mpirun not on PATH; CI needs it")
        let binary = try CarinaBinary.locate()
        let (dir, config) = try scratch("fault-term", config: config(steps: 400))
        let clean = try await runSubprocess(mpirun, ["-np", "2", binary.path, "train", "--config", config, "--run-dir", dir + "/clean"],
                                            environment: environment, timeout: .seconds(240))
        #expect(clean.status == 0, "\(clean.stderr)")
        let run = dir + "/run"

        // SIGTERM to mpirun itself, with a 2 s grace (the tiny steps and checkpoints take milliseconds).
        let job = try startJob(config, run: run, mpirunOptions: ["--mca", "odls_base_sigkill_timeout", "2"])
        guard try await waitForCheckpoints(run, job) else { return }
        let pids = try await ranks(of: job, run: run)
        defer { MPIJob.killLeftovers(pids.values) }
        kill(job.pid, SIGTERM)
        let first = try await job.wait(timeout: .seconds(60))
        let stopped = try #require(commonStopStep(first.stderr, signal: SIGTERM), "the ranks did not both stop after one step:\n\(first.stderr)")
        #expect(first.stdout.contains("stop signal: checkpoint written at step \(stopped)"), "\(first.stdout)")
        #expect(!first.stderr.contains("exited on signal"), "mpirun killed a rank before it finished:\n\(first.stderr)")
        #expect(try checkpointsAreIntact(run) == stopped)

        // SIGTERM to the launcher (what a scheduler or a user stops): forwarded as SIGUSR1, the job exits 0.
        let launcher = try Subprocess(URL(fileURLWithPath: "/bin/bash"), [root.appendingPathComponent("launch/mpirun.sh").path, "2", "train",
                                                                             "--config", config, "--run-dir", run],
                                      environment: environment.merging(["CARINA_BINARY": binary.path, "CARINA_STOP_GRACE": "2"]) { $1 })
        guard try await waitForCheckpoints(run, launcher, newerThan: stopped) else { return }
        kill(launcher.pid, SIGTERM)
        let second = try await launcher.wait(timeout: .seconds(60))
        #expect(second.status == 0, "launch/mpirun.sh exited \(second.status) after SIGTERM:\n\(second.stdout)\n\(second.stderr)")
        let again = try #require(commonStopStep(second.stderr, signal: SIGUSR1), "the ranks did not both stop after one step:\n\(second.stderr)")
        let intact = try checkpointsAreIntact(run)
        #expect(again > stopped && intact == again)

        let finish = try await runSubprocess(mpirun, ["-np", "2", binary.path, "train", "--config", config, "--run-dir", run, "--resume", "auto"],
                                             environment: environment, timeout: .seconds(240))
        #expect(finish.status == 0, "\(finish.stderr)")
        #expect(finish.stdout.contains("resumed from") && finish.stdout.contains("at step \(again) "), "\(finish.stdout)")
        try expectBitIdentical(dir + "/clean", run, steps: 400)
    }

    /// Item 4. The disk fills while checkpoints are being written (the test fills an 8 MB tmpfs holding the
    /// run directory). Default (stop): the job ends naming the checkpoint and the free space; nothing
    /// partial under a final name; `latest` and the older checkpoints verify. With
    /// train.onCheckpointError: continue: a warning at every checkpoint step until there is room again,
    /// then the run finishes with its last checkpoint.
    @Test(.enabled(if: TmpfsMount.permitted, "mounting a tmpfs is not permitted here (needs root with CAP_SYS_ADMIN, e.g. a privileged container)"))
    func aFullDiskFailsTheCheckpointCleanlyAndContinueTrainsOn() async throws {
        _ = try #require(mpirun, "mpirun not on PATH; CI needs it")
        for policy in ["stop", "continue"] {
            let steps = policy == "stop" ? 1_000_000 : 600
            let (dir, config) = try scratch("fault-full", config: config(steps: steps, extra: ["onCheckpointError: \(policy)"])
                .replacingOccurrences(of: "logEvery: 100", with: "logEvery: 100000"))
            let disk = try TmpfsMount(at: dir + "/run", bytes: 8 << 20)
            defer { disk.unmount() }
            let job = try startJob(config, run: disk.path)
            guard try await waitForCheckpoints(disk.path, job) else { return }
            let pids = try await ranks(of: job, run: disk.path)
            defer { MPIJob.killLeftovers(pids.values) }
            // Fill it, and once more a moment later: a checkpoint that was being written when the first fill
            // ran may have freed an older one.
            let filler = disk.path + "/filler"
            TmpfsMount.fill(filler)
            usleep(200_000)
            TmpfsMount.fill(filler)

            if policy == "stop" {
                let ended = try await job.wait(timeout: .seconds(120))
                #expect(ended.status != 0, "\(ended.stderr)")
                // The fill races the writer: either the checkpoint itself or, once it fit, the `latest` pointer
                // finds no room; each is reported with the path and the free space.
                let failure = ended.stderr.contains("checkpoint not written") || ended.stderr.contains("checkpoint written, but `latest` still names the previous one")
                #expect(failure && ended.stderr.contains("No space left on device")
                        && ended.stderr.contains("free of 8.0 MB on the file system of \(disk.path)/checkpoints")
                        && ended.stderr.contains("\(disk.path)/checkpoints/step-"), "the error does not name the file and the free space:\n\(ended.stderr)")
                try checkpointsAreIntact(disk.path)
            } else {
                // Two warnings (two checkpoint steps in a row failed), then room again.
                var warnings = 0
                for _ in 0..<1200 where warnings < 2 && !job.hasExited() {
                    usleep(50_000)
                    warnings = job.result.stderr.components(separatedBy: "warning: step").count - 1
                }
                #expect(warnings >= 2, "no warnings while the disk was full:\n\(job.result.stderr)")
                // The job trains on and tries the next checkpoint: its temporary file may exist this moment.
                try checkpointsAreIntact(disk.path, jobRunning: !job.hasExited())
                unlink(filler)
                let ended = try await job.wait(timeout: .seconds(240))
                #expect(ended.status == 0, "\(ended.stderr)")
                #expect(ended.stderr.contains("checkpoint failed, training goes on (train.onCheckpointError: continue)")
                        && ended.stderr.contains("No space left on device"), "\(ended.stderr)")
                #expect(ended.stdout.contains("finished \(steps) steps"), "\(ended.stdout)")
                #expect(try checkpointsAreIntact(disk.path) == steps)
            }
        }
    }

    /// Item 5. A read-only run directory (a tmpfs remounted read-only: as root, chmod would not stop
    /// writes) is reported at start-up, naming the directory and the reason, before any training step.
    @Test(.enabled(if: TmpfsMount.permitted, "mounting a tmpfs is not permitted here (needs root with CAP_SYS_ADMIN, e.g. a privileged container)"))
    func aReadOnlyRunDirectoryIsReportedBeforeTraining() async throws {
        let mpirun = try #require(mpirun, "mpirun not on PATH; CI needs it")
        let (dir, config) = try scratch("fault-readonly", config: config(steps: 30))
        let disk = try TmpfsMount(at: dir + "/run", bytes: 1 << 20)
        defer { disk.unmount() }
        try disk.remountReadOnly()
        let result = try await runSubprocess(mpirun, ["-np", "2", try CarinaBinary.locate().path, "train", "--config", config, "--run-dir", disk.path],
                                             environment: environment, timeout: .seconds(120))
        #expect(result.status != 0)
        #expect(result.stderr.contains("the run directory \(disk.path) is not writable (Read-only file system)"), "\(result.stderr)")
        #expect(!result.stdout.contains("training clip") && !result.stdout.contains("step "), "training started:\n\(result.stdout)")
    }
}
