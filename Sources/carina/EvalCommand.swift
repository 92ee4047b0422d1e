// `carina eval --run RUN_DIR --data SHARDS`: the run's model on a prepared dataset, by every evaluation its
// method supports (zero-shot, linear probe at label fractions — trained on this dataset or on another —,
// its classifier, retrieval), with bootstrap 95 % intervals, beside the same model as it started.

import ArgumentParser
import CarinaTrain

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval", abstract: "Evaluate a trained run on a prepared dataset.")

    @Option(name: .customLong("run"), help: "The run directory (config.yaml, vocab.txt, classes.txt, heldout.txt, checkpoints/).") var runDirectory: String
    @Option(help: "A shard directory written by `carina prepare`.") var data: String
    @Option(name: [.customLong("split"), .customLong("eval-split")], help: "Split evaluated.") var split = "test"
    @Option(help: "A shard directory the linear probe trains on (default: --data).") var probeData: String?
    @Option(name: [.customLong("probe-split"), .customLong("train-split")], help: "Split the linear probe trains on.") var probeSplit = "train"
    @Option(help: "Label fractions for the linear probe, comma-separated.") var fractions = "0.01,0.1,1"
    @Option(help: "latest (the newest checkpoint that verifies), best (the run's eval.select choice), or a checkpoint file.")
    var checkpoint = "latest"
    @Option(help: "Bootstrap resamples for the 95 % intervals (default: the run's eval.bootstrap; 0 = none).") var bootstrap: Int?
    @Flag(help: "Skip the untrained comparison.") var noUntrained = false

    func run() throws {
        let mpi = try Runtime.start()
        var options = EvaluationRun.Options(dataset: data)
        options.fractions = try fractions.split(separator: ",").map { text -> Float in
            guard let f = Float(text), f > 0, f <= 1 else { throw ValidationFailure("--fractions: '\(text)' is not a fraction in (0, 1]") }
            return f
        }
        (options.split, options.probeDataset, options.probeSplit, options.checkpoint) = (split, probeData, probeSplit, checkpoint)
        (options.compareUntrained, options.bootstrap) = (!noUntrained, bootstrap)
        let result = try Runtime.guarded(mpi, "eval") {
            try EvaluationRun(runDirectory: runDirectory, communicator: mpi.world).run(options)
        }
        guard mpi.rank == 0 else { return }
        print("model: \(result.checkpoint)")
        for note in result.notes { print(note) }
        print(EvaluationTable.render(result.trained, untrained: result.untrained))
    }
}
