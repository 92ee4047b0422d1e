// DESIGN invariant 4, nothing lost: a process saving checkpoints is SIGKILLed at random moments, many
// while a file is being written, and every time the newest valid checkpoint is at least the last one the
// writer reported saved, holds exactly what that step should, and no temporary file is taken for a
// checkpoint. Not for: damage done to files after they were written (CheckpointStoreTests).
import CarinaCheckpoint
import CarinaData
import CarinaTensor
import CarinaTestSupport
import Foundation
import Testing

@Suite struct CheckpointCrashTests {
    static let megabytes = 8.0

    /// Whether `dir` holds a temporary file of process `pid` (a write in progress, or one it was killed in).
    func hasTemporaryFile(_ dir: String, of pid: Int32) -> Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).contains { AtomicFile.temporaryOwner($0) == pid }
    }

    @Test func killedWritersNeverLoseOrCorruptACheckpoint() async throws {
        let dir = try temporaryDirectory()
        let binary = try CarinaBinary.locate()
        var rng = RNG(seed: 11, "checkpoint-crash-test")
        var newest = 0, killedDuringWrite = 0
        let rounds = 20
        for round in 0..<rounds {
            let writer = try Subprocess(binary, ["selftest", "checkpoint-writer", "--dir", dir, "--tensors-mb", String(Self.megabytes)])
            if round % 2 == 0 {
                // After its first save, wait for the next write in progress (its temporary file), then kill 0-2 ms later.
                let deadline = ContinuousClock.now + .seconds(5)
                while (writer.result.stdout.isEmpty || !hasTemporaryFile(dir, of: writer.pid)) && !writer.hasExited() && ContinuousClock.now < deadline {
                    blockingSleep(seconds: 0.0005)
                }
                blockingSleep(seconds: Double(rng.int(2_000)) / 1e6)
            } else {
                blockingSleep(seconds: Double(100 + rng.int(400)) / 1e3)
            }
            let result = writer.killAndWait()
            try #require(result.status == 128 + SIGKILL, "round \(round): the writer ended by itself:\n\(result.stdout)\n\(result.stderr)")
            if hasTemporaryFile(dir, of: writer.pid) { killedDuringWrite += 1 }
            // Every save the writer finished (reported after its fsyncs) must survive.
            let reported = result.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").dropFirst(2).first.flatMap { Int($0.dropLast()) } }
            let store = try CheckpointStore(directory: dir)
            let files = store.list()
            let names = try FileManager.default.contentsOfDirectory(atPath: dir)
            #expect(files.count == names.filter { CheckpointStore.step(of: $0) != nil }.count)
            #expect(files.allSatisfy { ($0 as NSString).lastPathComponent.wholeMatch(of: /step-\d{8}\.ckpt/) != nil }, "\(files)")
            guard let found = try store.latestValid() else {
                #expect(files.isEmpty && newest == 0 && reported.isEmpty, "round \(round): no valid checkpoint among \(files)")
                continue
            }
            let step = found.contents.state.step
            #expect(found.skipped.isEmpty, "round \(round): \(found.skipped)")
            #expect(found.path == dir + "/" + CheckpointStore.fileName(step: step))
            #expect(step >= max(newest, reported.max() ?? 0), "round \(round): newest valid step \(step), writer reported \(reported), before \(newest)")
            #expect(identical(found.contents, CheckpointWriterSelfTest.contents(step: step, megabytes: Self.megabytes)), "round \(round): step \(step)")
            for file in files { #expect(throws: Never.self) { _ = try CheckpointFile.verify(file) } }
            newest = step
        }
        #expect(killedDuringWrite >= rounds / 4, "only \(killedDuringWrite) of \(rounds) kills hit a write in progress")
        #expect(newest >= rounds / 2, "the writers saved only \(newest) steps in \(rounds) rounds")
    }
}
