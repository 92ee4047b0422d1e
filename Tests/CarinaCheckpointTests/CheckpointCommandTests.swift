// `carina checkpoint inspect|verify|export` as a user runs them: the built binary as a subprocess, on run
// directories and files, exit code 1 with the file and tensor named on damage. Not for: the library calls.
import CarinaCheckpoint
import CarinaTensor
import CarinaTestSupport
import Foundation
import Testing

@Suite struct CheckpointCommandTests {
    /// A run directory with checkpoints of steps 3 and 6 under checkpoints/.
    func run() throws -> (run: String, newest: String) {
        let run = try temporaryDirectory()
        let store = try CheckpointStore(directory: run + "/checkpoints")
        try store.save(randomContents(step: 3), step: 3)
        return (run, try store.save(randomContents(step: 6), step: 6))
    }

    func carina(_ arguments: [String]) async throws -> SubprocessResult {
        try await runSubprocess(try CarinaBinary.locate(), arguments, environment: ["CARINA_THREADS": "2"], timeout: .seconds(60))
    }

    @Test func inspectShowsTensorsSizesAndRunState() async throws {
        let (run, newest) = try run()
        let result = try await carina(["checkpoint", "inspect", run])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("checkpoint \(newest)\n"))
        #expect(result.stdout.contains("run state: step 6, epoch 2, samples consumed 384, seed 18446744073709551612, world size 4, optimizer step 6"))
        #expect(result.stdout.contains("extra: best_auc=0.8125, vocabulary=abc"))
        #expect(result.stdout.contains("model      encoder.weight"), "\(result.stdout)")
        #expect(result.stdout.contains("(16, 8)") && result.stdout.contains("7 tensors:"))
    }

    @Test func verifyPassesAGoodCheckpointAndFailsADamagedOneWithExitCode1() async throws {
        let (run, newest) = try run()
        var result = try await carina(["checkpoint", "verify", run + "/checkpoints/latest"])
        #expect(result.status == 0 && result.stdout == "checkpoint \(newest): ok: 7 tensors, 0.00 MB raw, every checksum matches (step 6)\n",
                "\(result.stdout)\(result.stderr)")
        let data = try Data(contentsOf: URL(fileURLWithPath: newest))
        try data.flipping(data.count - 5).write(to: URL(fileURLWithPath: newest))
        result = try await carina(["checkpoint", "verify", run])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("carina checkpoint verify: checkpoint \(newest): tensor 'exp_avg_sq.encoder.weight' is corrupt: "), "\(result.stderr)")
    }

    @Test func exportWritesTheModelGroupAsSafetensors() async throws {
        let (run, newest) = try run()
        let out = run + "/model.safetensors"
        let result = try await carina(["checkpoint", "export", run, "--format", "safetensors", "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("exported 5 model tensors"))
        let (tensors, metadata) = try SafeTensors.readWithMetadata(out)
        let saved = randomContents(step: 6)
        #expect(tensors.map(\.name) == saved.model.map(\.name))
        #expect(zip(tensors, saved.model).allSatisfy { bits($0.tensor) == bits($1.tensor) })
        #expect(metadata == ["format": "pt", "carina_step": "6", "carina_version": saved.state.carinaVersion,
                             "carina_checkpoint": (newest as NSString).lastPathComponent])
    }
}
