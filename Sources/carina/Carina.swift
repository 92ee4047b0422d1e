// The `carina` root command: the list of subcommands. Not for: options or logic of any subcommand,
// each of which lives in its own file (train, eval, bench ... are added there, then listed here).

import ArgumentParser

struct Carina: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "carina",
        abstract: "Train and evaluate medical vision-language models on chest X-rays, data-parallel over MPI.",
        subcommands: [TrainCommand.self, EvalCommand.self, PrepareCommand.self, SynthCommand.self, VocabCommand.self, PlotCommand.self, CompareCommand.self, ModelCommand.self, CheckpointCommand.self,
                      BenchCommand.self, SelfTestCommand.self]
    )
}
