// Nothing is lost when a training process is killed: `carina train` is SIGKILLed at many moments (during
// steps and during checkpoint writes); each time the newest checkpoint verifies, the run resumes from it,
// and the finished run's parameters and optimizer state equal, bit for bit, those of a run never killed.
import Foundation
import Testing
import CarinaCheckpoint
import CarinaTestSupport

private let tinyConfig = tinyCLIPRunConfig(steps: 40, checkpointEvery: 3,
                                          eval: "  zeroShot: false\n  linearProbe: false\n  compareUntrained: false\n  maxSamples: 8")

@Suite struct TrainingKillTests {
    @Test func killedRunsResumeAndFinishBitIdenticalToAnUninterruptedRun() async throws {
        let binary = try CarinaBinary.locate()
        let dir = NSTemporaryDirectory() + "carina-kill-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let config = dir + "/tiny.yaml"
        try tinyConfig.write(toFile: config, atomically: true, encoding: .utf8)
        let environment = ["OPENBLAS_NUM_THREADS": "1", "CARINA_THREADS": "1"]

        let clean = try await runSubprocess(binary, ["train", "--config", config, "--run-dir", dir + "/clean"], environment: environment,
                                            timeout: .seconds(120))
        #expect(clean.status == 0, "\(clean.stderr)")

        // Kill at 16 moments spread over a run, resuming each time.
        let run = dir + "/killed"
        let delays: [Double] = [0.03, 0.11, 0.07, 0.19, 0.05, 0.23, 0.09, 0.15, 0.04, 0.27, 0.13, 0.08, 0.21, 0.06, 0.17, 0.1]
        var killed = 0
        for delay in delays {
            let process = try Subprocess(binary, ["train", "--config", config, "--run-dir", run], environment: environment)
            blockingSleep(seconds: delay)
            if process.hasExited() { break }
            _ = process.killAndWait()
            killed += 1
            // Whatever moment the kill hit, what is on disk is either nothing yet or a valid checkpoint.
            let store = try CheckpointStore(directory: run + "/checkpoints")
            if !store.list().isEmpty {
                let valid = try #require(try store.latestValid(), "after kill \(killed) no checkpoint verifies")
                #expect(valid.skipped.isEmpty, "kill \(killed) left a damaged checkpoint: \(valid.skipped.map(\.reason))")
            }
        }
        #expect(killed >= 5, "the run finished too fast to be interrupted")
        let finish = try await runSubprocess(binary, ["train", "--config", config, "--run-dir", run], environment: environment,
                                             timeout: .seconds(120))
        #expect(finish.status == 0, "\(finish.stderr)")

        let a = try #require(try CheckpointStore(directory: dir + "/clean/checkpoints").latestValid()).contents
        let b = try #require(try CheckpointStore(directory: run + "/checkpoints").latestValid()).contents
        #expect(a.state.step == 40 && b.state.step == 40)
        #expect(a.model.count == b.model.count && a.optimizer.count == b.optimizer.count)
        for (x, y) in zip(a.model + a.optimizer, b.model + b.optimizer) {
            #expect(x.name == y.name && x.tensor.scalars == y.tensor.scalars, "\(x.name) differs after \(killed) kills")
        }
    }

    @Test func sigusr1WritesACheckpointAndExitsCleanly() async throws {
        let binary = try CarinaBinary.locate()
        let dir = NSTemporaryDirectory() + "carina-signal-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try tinyConfig.replacingOccurrences(of: "steps: 40", with: "steps: 4000").write(toFile: dir + "/tiny.yaml", atomically: true, encoding: .utf8)
        let process = try Subprocess(binary, ["train", "--config", dir + "/tiny.yaml", "--run-dir", dir + "/run"],
                                     environment: ["OPENBLAS_NUM_THREADS": "1", "CARINA_THREADS": "1"])
        // Signal once training is under way (its first checkpoint exists), however slow the start-up; 60 s
        // is only the guard against a run that never checkpoints.
        let store = try CheckpointStore(directory: dir + "/run/checkpoints")
        for _ in 0..<1200 where store.list().isEmpty && !process.hasExited() { usleep(50_000) }  // blocking: see ClusterFaultTests.waitForCheckpoints
        if store.list().isEmpty {
            Issue.record(process.hasExited() ? "training ended before its first checkpoint:\n\(process.result.stderr)" : "no checkpoint after 60 s")
            return
        }
        process.signal(SIGUSR1)
        let result = try await process.wait(timeout: .seconds(60))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("stop signal: checkpoint written at step"), "\(result.stdout)")
        let saved = try #require(try CheckpointStore(directory: dir + "/run/checkpoints").latestValid())
        #expect(saved.contents.state.step > 0 && saved.contents.state.step < 4000)
    }

    @Test func aTwoRankMpirunRunKilledMidwayResumesOnOneRank() async throws {
        guard let mpirun = CarinaBinary.onPath("mpirun") else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("mpirun not on PATH; CI needs it") }
            return
        }
        let binary = try CarinaBinary.locate()
        let dir = NSTemporaryDirectory() + "carina-mpikill-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let config = dir + "/tiny.yaml"
        try tinyConfig.replacingOccurrences(of: "steps: 40", with: "steps: 200").write(toFile: config, atomically: true, encoding: .utf8)
        let environment = ["OPENBLAS_NUM_THREADS": "1", "CARINA_THREADS": "1", "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"]
        let clean = try await runSubprocess(binary, ["train", "--config", config, "--run-dir", dir + "/clean"], environment: environment,
                                            timeout: .seconds(120))
        #expect(clean.status == 0, "\(clean.stderr)")
        let job = try Subprocess(mpirun, ["-np", "2", "--oversubscribe", binary.path, "train", "--config", config, "--run-dir", dir + "/run"],
                                 environment: environment)
        // Wait for two checkpoints from the 2-rank job (60 s is only the guard), then kill the whole job.
        let store = try CheckpointStore(directory: dir + "/run/checkpoints")
        for _ in 0..<1200 where store.list().count < 2 && !job.hasExited() { usleep(50_000) }
        _ = job.killAndWait()
        let saved = try #require(try store.latestValid(), "the 2-rank job wrote no checkpoint")
        #expect(saved.contents.state.worldSize == 2)
        let finish = try await runSubprocess(binary, ["train", "--config", config, "--run-dir", dir + "/run"], environment: environment,
                                             timeout: .seconds(120))
        #expect(finish.status == 0, "\(finish.stderr)")
        #expect(finish.stdout.contains("saved on 2 rank(s), now 1"), "\(finish.stdout)")
        let a = try #require(try CheckpointStore(directory: dir + "/clean/checkpoints").latestValid()).contents
        let b = try #require(try store.latestValid()).contents
        #expect(a.state.step == 200 && b.state.step == 200 && a.state.samplesConsumed == b.state.samplesConsumed && a.state.epoch == b.state.epoch)
        var worst: Float = 0
        for (x, y) in zip(a.model, b.model) { for (u, v) in zip(x.tensor.scalars, y.tensor.scalars) { worst = max(worst, abs(u - v)) } }
        #expect(worst < 1e-2, "largest parameter difference \(worst) after resuming a 2-rank run on 1 rank")
    }
}
