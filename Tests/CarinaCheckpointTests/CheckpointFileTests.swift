// The checkpoint file and store: bit-exact round trips, and every kind of damage detected with the file
// and tensor named; resume falls back to the newest checkpoint that verifies.
import Foundation
import Testing
import CarinaCheckpoint
import CarinaTensor

@Suite struct CheckpointFileTests {
    func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "carina-ckpt-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func contents(step: Int, seed: UInt64 = 1) -> CheckpointContents {
        var rng = RNG(seed: seed, "ckpt-test", step)
        let model = [("encoder.weight", Tensor.normal([16, 8], rng: &rng)), ("encoder.bias", Tensor.normal([16], rng: &rng)),
                     ("scale", Tensor(Float(step)))]
        let optimizer = [("exp_avg.encoder.weight", Tensor.normal([16, 8], rng: &rng))]
        return CheckpointContents(model: model.map { (name: $0.0, tensor: $0.1) }, optimizer: optimizer.map { (name: $0.0, tensor: $0.1) },
                                  state: RunState(step: step, epoch: 2, samplesConsumed: 64, seed: 7, worldSize: 4, optimizerStep: step,
                                                  config: "method: clip\n", extra: ["vocabulary": "abc"]))
    }

    func same(_ a: CheckpointContents, _ b: CheckpointContents) -> Bool {
        a.state == b.state && a.model.map(\.name) == b.model.map(\.name) && a.optimizer.map(\.name) == b.optimizer.map(\.name)
            && zip(a.model + a.optimizer, b.model + b.optimizer).allSatisfy { $0.tensor.shape == $1.tensor.shape && $0.tensor.scalars == $1.tensor.scalars }
    }

    @Test(arguments: [false, true]) func roundTripIsBitExact(_ shuffle: Bool) throws {
        let path = try temporaryDirectory() + "/a.ckpt"
        let c = contents(step: 3)
        try CheckpointFile.write(c, to: path, shuffle: shuffle, threads: 2)
        #expect(same(try CheckpointFile.read(path), c))
        let summary = try CheckpointFile.verify(path)
        #expect(summary.entries.count == 4 && summary.rawBytes == (128 + 16 + 1 + 128) * 4)
        // Thread count does not change the bytes.
        let other = path + ".1"
        try CheckpointFile.write(c, to: other, shuffle: shuffle, threads: 1)
        func frames(_ p: String) -> Data {
            let d = FileManager.default.contents(atPath: p)!
            let manifestLength = d[12..<20].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            return d.dropFirst(32 + manifestLength)
        }
        #expect(frames(path) == frames(other) && !frames(path).isEmpty)
    }

    @Test func flippedBytesAnywhereAreDetected() throws {
        let path = try temporaryDirectory() + "/a.ckpt"
        try CheckpointFile.write(contents(step: 1), to: path)
        let original = FileManager.default.contents(atPath: path)!
        var detected = 0
        for offset in stride(from: 0, to: original.count, by: max(1, original.count / 97)) {
            var damaged = original
            damaged[offset] ^= 0x5A
            try damaged.write(to: URL(fileURLWithPath: path))
            do { _ = try CheckpointFile.read(path) } catch {
                detected += 1
                #expect("\(error)".contains(path), "\(error)")
            }
        }
        #expect(detected == (0..<original.count).filter { $0 % max(1, original.count / 97) == 0 }.count)
        // A flip inside the last tensor's frame names that tensor.
        var damaged = original
        damaged[original.count - 10] ^= 0xFF
        try damaged.write(to: URL(fileURLWithPath: path))
        do { _ = try CheckpointFile.read(path); Issue.record("undetected") } catch {
            #expect("\(error)".contains("exp_avg.encoder.weight"), "\(error)")
        }
    }

    @Test func truncationAtAnyLengthIsDetected() throws {
        let path = try temporaryDirectory() + "/a.ckpt"
        try CheckpointFile.write(contents(step: 1), to: path)
        let original = FileManager.default.contents(atPath: path)!
        for length in stride(from: 0, to: original.count, by: max(1, original.count / 50)) {
            try original.prefix(length).write(to: URL(fileURLWithPath: path))
            #expect(throws: CheckpointError.self) { try CheckpointFile.read(path) }
        }
    }

    @Test func loadingIntoADifferentModelNamesTheTensorAndShapes() throws {
        let path = try temporaryDirectory() + "/a.ckpt"
        try CheckpointFile.write(contents(step: 1), to: path)
        let stored = try CheckpointFile.read(path)
        let targets = [("encoder.weight", Tensor.zeros([16, 4])), ("encoder.bias", Tensor.zeros([16])), ("scale", Tensor(0))]
        do {
            try CheckpointFile.load(stored.model, into: targets.map { (name: $0.0, tensor: $0.1) }, path: path, group: "model")
            Issue.record("a wrong shape loaded")
        } catch {
            #expect("\(error)".contains("encoder.weight") && "\(error)".contains("[16, 8]") && "\(error)".contains("[16, 4]") && "\(error)".contains(path), "\(error)")
        }
        do {
            try CheckpointFile.load(stored.model, into: [(name: "encoder.bias", tensor: Tensor.zeros([16]))], path: path, group: "model")
            Issue.record("extra tensors accepted")
        } catch { #expect("\(error)".contains("encoder.weight"), "\(error)") }
        let good = [("encoder.weight", Tensor.zeros([16, 8])), ("encoder.bias", Tensor.zeros([16])), ("scale", Tensor(0))]
        try CheckpointFile.load(stored.model, into: good.map { (name: $0.0, tensor: $0.1) }, path: path, group: "model")
        #expect(good[0].1.scalars == stored.model[0].tensor.scalars)
    }

    @Test func storeKeepsTheNewestAndFallsBackPastDamage() throws {
        let dir = try temporaryDirectory()
        let store = try CheckpointStore(directory: dir, keepLast: 2, keepEvery: 10)
        for step in [5, 10, 15, 20, 25] { try store.save(contents(step: step), step: step) }
        #expect(store.list().map { ($0 as NSString).lastPathComponent } == ["step-00000025.ckpt", "step-00000020.ckpt", "step-00000010.ckpt"])
        #expect(store.latestValid()?.contents.state.step == 25)
        // Corrupt the newest: resume takes step 20 and says why it skipped 25.
        let newest = store.list()[0]
        var data = FileManager.default.contents(atPath: newest)!
        data[data.count - 3] ^= 1
        try data.write(to: URL(fileURLWithPath: newest))
        let resumed = try #require(store.latestValid())
        #expect(resumed.contents.state.step == 20)
        #expect(resumed.skipped.count == 1 && resumed.skipped[0].path == newest && resumed.skipped[0].reason.contains("checksum"))
        // No temporary files are left behind, and none would be taken for a checkpoint.
        let names = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(!names.contains { $0.contains(".tmp-") })
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/.step-00000030.ckpt.tmp-1"))
        #expect(store.latestValid()?.contents.state.step == 20)
    }
}
