// `carina eval --run RUN_DIR --data SHARDS`: the run's model on a prepared dataset (zero-shot, linear probe
// at label fractions, retrieval where there are reports), beside the same model untrained.

import ArgumentParser
import CarinaTrain

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval", abstract: "Evaluate a trained run on a prepared dataset.")

    @Option(name: .customLong("run"), help: "The run directory (config.yaml, vocab.txt, checkpoints/).") var runDirectory: String
    @Option(help: "A shard directory written by `carina prepare`.") var data: String
    @Option(help: "Split the linear probe trains on.") var trainSplit = "train"
    @Option(help: "Split evaluated.") var evalSplit = "test"
    @Option(help: "Label fractions for the linear probe, comma-separated.") var fractions = "0.01,0.1,1"

    func run() throws {
        let mpi = try Runtime.start()
        let parsed = try fractions.split(separator: ",").map { text -> Float in
            guard let f = Float(text), f > 0, f <= 1 else { throw ValidationFailure("--fractions: '\(text)' is not a fraction in (0, 1]") }
            return f
        }
        let result = try Runtime.guarded(mpi, "eval") {
            try EvaluationRun(runDirectory: runDirectory, communicator: mpi.world).run(dataset: data, trainSplit: trainSplit, evalSplit: evalSplit, fractions: parsed)
        }
        if mpi.rank == 0 { print(EvaluationTable.render(result.trained, untrained: result.untrained)) }
    }
}
