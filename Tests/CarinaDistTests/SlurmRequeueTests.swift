// launch/slurm.sbatch against a real single-node Slurm (launch/slurm-local.sh installs and starts slurmctld,
// slurmd and munge): a job with a one-minute time limit gets its warning signal, checkpoints, requeues
// itself, and after as many parts as it needs finishes with the parameters of an uninterrupted run.
// Opt-in (CARINA_SLURM_TEST=1): it needs root, installs packages and takes several minutes.
import CarinaTestSupport
import Foundation
import Testing

private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
private let environment = ["OPENBLAS_NUM_THREADS": "1", "CARINA_THREADS": "1", "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"]

@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["CARINA_SLURM_TEST"] == "1",
                             "set CARINA_SLURM_TEST=1 to run it: it installs and starts a single-node Slurm (root) and takes minutes"))
struct SlurmRequeueTests {
    @Test func aJobPastItsTimeLimitRequeuesItselfAndFinishesBitIdentically() async throws {
        let bash = URL(fileURLWithPath: "/bin/bash")
        let slurm = root.appendingPathComponent("launch/slurm-local.sh").path
        let started = try await runSubprocess(bash, [slurm, "start"], timeout: .seconds(600))
        try #require(started.status == 0, "a single-node Slurm could not be started here:\n\(started.stdout)\n\(started.stderr)")
        defer { _ = try? Subprocess(bash, [slurm, "stop"]).waitBlocking(timeout: .seconds(60)) }

        let binary = try CarinaBinary.locate()
        let mpirun = try #require(CarinaBinary.onPath("mpirun"))
        let dir = try makeTemporaryDirectory("slurm")
        // Long enough (~1.5 min of training on 2 ranks here, more under load) that the first part cannot
        // finish before its warning.
        let config = tinyCLIPRunConfig(steps: 6000, checkpointEvery: 50, eval: "  zeroShot: false\n  linearProbe: false\n  compareUntrained: false\n  maxSamples: 8")
            .replacingOccurrences(of: "logEvery: 100", with: "logEvery: 500")
        try config.write(toFile: dir + "/tiny.yaml", atomically: true, encoding: .utf8)
        let clean = try await runSubprocess(mpirun, ["-np", "2", binary.path, "train", "--config", dir + "/tiny.yaml", "--run-dir", dir + "/clean"],
                                            environment: environment, timeout: .seconds(600))
        try #require(clean.status == 0, "\(clean.stderr)")

        // Two minutes, the warning 40 s before the end. Slurm sends it once warn time + its 30 s check period
        // reach the end (50-80 s in); a warning longer than limit - 30 s would come at once, before the ranks
        // even start (they then die of the signal, and the script requeues just the same).
        let submitted = try await runSubprocess(URL(fileURLWithPath: "/usr/bin/sbatch"), [
            "--parsable", "--nodes=1", "--ntasks=2", "--ntasks-per-node=2", "--cpus-per-task=1", "--time=2", "--signal=B:USR1@40",
            "--output=\(dir)/job-%j.out", root.appendingPathComponent("launch/slurm.sbatch").path, dir + "/tiny.yaml",
        ], environment: environment.merging(["RUN_DIR": dir + "/run", "CARINA_BINARY": binary.path]) { $1 }, timeout: .seconds(60))
        try #require(submitted.status == 0, "\(submitted.stderr)")
        let job = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ";").first.map(String.init) ?? ""

        // Every part lasts at most ~2.5 min plus 10 s before the requeued job may start; 30 min is the guard.
        var state = ""
        for _ in 0..<1800 {
            let shown = try await runSubprocess(URL(fileURLWithPath: "/usr/bin/scontrol"), ["show", "job", job], timeout: .seconds(30))
            state = shown.stdout
            if state.contains("JobState=COMPLETED") || state.contains("JobState=FAILED") || state.contains("JobState=CANCELLED") { break }
            try await Task.sleep(for: .seconds(1))
        }
        let log = (try? String(contentsOfFile: "\(dir)/job-\(job).out", encoding: .utf8)) ?? ""
        #expect(state.contains("JobState=COMPLETED"), "job \(job) did not complete:\n\(state)\n\(log)")
        let restarts = state.split(separator: " ").first { $0.hasPrefix("Restarts=") }.flatMap { Int($0.dropFirst("Restarts=".count)) } ?? 0
        #expect(restarts >= 1, "the job was never requeued:\n\(log)")
        #expect(log.contains("requeueing job \(job)") && log.contains("training finished (step 6000)"), "\(log)")
        try expectBitIdentical(dir + "/clean", dir + "/run", steps: 6000)
    }
}
