// Checkpoint contents, temporary directories and comparisons shared by the checkpoint tests.
// Not for: assertions, which each test makes.
import CarinaCheckpoint
import CarinaTensor
import Foundation

/// A fresh empty directory under the system's temporary folder.
func temporaryDirectory() throws -> String {
    let dir = NSTemporaryDirectory() + "carina-ckpt-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Random model and optimizer tensors (a matrix, a bias, a scalar, an empty tensor, a 4-axis kernel) and a
/// run state; everything follows from `step` and `seed`.
func randomContents(step: Int, seed: UInt64 = 1, largeRows: Int = 16) -> CheckpointContents {
    var rng = RNG(seed: seed, "checkpoint-test", step)
    let model: [(name: String, tensor: Tensor)] = [
        ("encoder.weight", Tensor.normal([largeRows, 8], rng: &rng)),  // (rows, 8)
        ("encoder.bias", Tensor.normal([16], rng: &rng)),
        ("logit_scale", Tensor(Float(step))),
        ("empty", Tensor.zeros([0, 3])),
        ("conv.weight", Tensor.normal([2, 3, 3, 3], std: 0.1, rng: &rng)),
    ]
    let optimizer: [(name: String, tensor: Tensor)] = [
        ("exp_avg.encoder.weight", Tensor.normal([largeRows, 8], std: 1e-3, rng: &rng)),
        ("exp_avg_sq.encoder.weight", Tensor.uniform([largeRows, 8], 0, 1e-6, rng: &rng)),
    ]
    let state = RunState(step: step, epoch: 2, samplesConsumed: 64 * step, seed: UInt64.max - 3, worldSize: 4, optimizerStep: step,
                         config: "method: clip\nmodel:\n  width: 192 # «résumé» \"quoted\"\n", extra: ["best_auc": "0.8125", "vocabulary": "abc"])
    return CheckpointContents(model: model, optimizer: optimizer, state: state)
}

/// The bit patterns of a tensor's values (NaN payloads and -0 included).
func bits(_ t: Tensor) -> [UInt32] { t.scalars.map(\.bitPattern) }

/// Whether two contents hold the same state and, group by group, the same names, shapes and bits.
func identical(_ a: CheckpointContents, _ b: CheckpointContents) -> Bool {
    func same(_ x: [(name: String, tensor: Tensor)], _ y: [(name: String, tensor: Tensor)]) -> Bool {
        x.count == y.count && zip(x, y).allSatisfy {
            $0.name == $1.name && $0.tensor.shape == $1.tensor.shape && memcmp($0.tensor.pointer, $1.tensor.pointer, $0.tensor.count * 4) == 0
        }
    }
    return a.state == b.state && same(a.model, b.model) && same(a.optimizer, b.optimizer)
}

/// The description of the error `body` throws, or nil when it does not throw.
func errorText(_ body: () throws -> Void) -> String? {
    do { try body() } catch { return "\(error)" }
    return nil
}

extension Data {
    /// A copy with byte `offset` XORed with `mask`.
    func flipping(_ offset: Int, _ mask: UInt8 = 0x10) -> Data {
        var copy = self
        copy[copy.startIndex + offset] ^= mask
        return copy
    }
}
