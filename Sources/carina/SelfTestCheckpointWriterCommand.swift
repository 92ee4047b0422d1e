// `carina selftest checkpoint-writer --dir D --tensors-mb N` (hidden, for the crash-safety test): saves
// checkpoints of ever-increasing steps into D until killed. Not for: real runs; no MPI is started.

import ArgumentParser
import CarinaCheckpoint
import Foundation

struct SelfTestCheckpointWriterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint-writer",
        abstract: "Save deterministic checkpoints step after step until killed (crash-safety test)."
    )

    @Option(help: "The checkpoint directory (continues after its newest valid checkpoint).")
    var dir: String

    @Option(help: "Size of the large tensor in each checkpoint, in MB.")
    var tensorsMb: Double = 8

    @Option(help: "Stop after this many checkpoints (default: never).")
    var steps: Int?

    func run() throws {
        guard tensorsMb > 0 else { throw ValidationFailure("--tensors-mb must be positive, got \(tensorsMb)") }
        try CheckpointWriterSelfTest.run(directory: dir, megabytes: tensorsMb, steps: steps) { line in
            FileHandle.standardOutput.write(Data((line + "\n").utf8))  // unbuffered: a kill loses no line
        }
    }
}
