// `carina train --config FILE`: trains (and, at the end, evaluates) the method a config names, on one
// process or every rank of an mpirun/srun job; resumes from the run directory's newest valid checkpoint.

import ArgumentParser
import CarinaTrain
import Foundation

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "Train and evaluate a model from a config.")

    @Option(help: "A run config (configs/*.yaml).")
    var config: String

    @Option(help: "Run directory for checkpoints, metrics, curves and the resolved config (default runs/<config name>).")
    var runDir: String?

    @Option(help: "auto: continue from the newest checkpoint that verifies (if any); none: start fresh; or a checkpoint file.")
    var resume = "auto"

    @Option(help: "Override train.steps (short runs, tests).")
    var steps: Int?

    func run() throws {
        // Catch SIGTERM/SIGUSR1 from the start: a pre-emption during start-up stops the run after its first step.
        StopSignal.install()
        let mpi = try Runtime.start()
        let name = ((config as NSString).lastPathComponent as NSString).deletingPathExtension
        let directory = runDir ?? "runs/\(name)"
        let mode: TrainingRun.Resume = resume == "auto" ? .auto : resume == "none" ? .none : .path(resume)
        let summary = try Runtime.guarded(mpi, "train") { () -> TrainingRun.Summary in
            let run = try TrainingRun(configPath: config, runDirectory: directory, communicator: mpi.world, overrideSteps: steps) { print($0) }
            return try run.run(resume: mode)
        }
        if case let .preempted(signal) = summary.outcome, mpi.size > 1 {
            // Every rank says where it stopped: a job log shows they all stopped after the same step.
            FileHandle.standardError.write(Data("rank \(mpi.rank)/\(mpi.size): stopped by signal \(signal) after step \(summary.steps), exiting 0\n".utf8))
        }
        guard mpi.rank == 0 else { return }
        if case let .preempted(signal) = summary.outcome {
            print("stopped by signal \(signal) after step \(summary.steps); checkpoint \(summary.checkpoint ?? "-")")
            return
        }
        print("finished \(summary.steps) steps; checkpoint \(summary.checkpoint ?? "-"); metrics \(directory)/metrics.jsonl; curves \(directory)/curves.svg")
        if let best = summary.best { print("best checkpoint: \(best)") }
        if let evaluation = summary.evaluation { print(EvaluationTable.render(evaluation, untrained: summary.untrained)) }
    }
}
