// What `carina selftest checkpoint-writer` does, and what the crash test checks against: checkpoints whose
// every value follows from the step, saved one step after another until the process is killed. Not for:
// training (CarinaTrain saves real runs); shared here so the test and the subprocess agree on the contents.
import CarinaTensor

public enum CheckpointWriterSelfTest {
    /// The contents of `step`: a large random tensor of about `megabytes` MB (keyed by the step), a bias
    /// filled with the step, an optimizer tensor and a run state, all derived from `step` alone.
    public static func contents(step: Int, megabytes: Double) -> CheckpointContents {
        var rng = RNG(seed: 0xC4EC_4B01, "checkpoint-writer", step)
        let columns = 256
        let rows = max(1, Int(megabytes * 1_048_576 / 4 / Double(columns)))
        let weight = Tensor.normal([rows, columns], std: 0.02, rng: &rng)  // (rows, 256)
        let bias = Tensor.full([columns], Float(step))  // (256)
        let moment = Tensor.normal([columns], rng: &rng)  // (256)
        let state = RunState(step: step, epoch: step / 100, samplesConsumed: step * 32 % 3200, seed: 7, worldSize: 1, optimizerStep: step,
                             config: "selftest: checkpoint-writer\nmegabytes: \(megabytes)\n", extra: ["selftest": "checkpoint-writer"])
        return CheckpointContents(model: [("encoder.weight", weight), ("encoder.bias", bias)],
                                  optimizer: [("exp_avg.encoder.bias", moment)], state: state)
    }

    /// Saves step after step into `directory` (continuing after the newest valid checkpoint there), until
    /// `steps` more are written (nil: forever). `report` hears about each save.
    public static func run(directory: String, megabytes: Double, steps: Int? = nil, keepLast: Int = 3,
                           report: (String) -> Void = { _ in }) throws {
        let store = try CheckpointStore(directory: directory, keepLast: keepLast)
        var step = (try store.latestValid()?.contents.state.step ?? 0) + 1
        var written = 0
        while steps.map({ written < $0 }) ?? true {
            let path = try store.save(contents(step: step, megabytes: megabytes), step: step)
            report("saved step \(step): \(path)")
            step += 1
            written += 1
        }
    }
}
