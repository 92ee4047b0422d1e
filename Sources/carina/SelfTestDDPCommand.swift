// `carina selftest ddp`: DESIGN invariant 1 under a real launcher: the ranks' CLIP step (local batch b,
// InfoNCE over gathered negatives, bucketed all-reduce) against one process with the global batch.
// Not for: the check itself (CarinaBench's EquivalenceCheck, also run on in-process ranks by the tests).

import ArgumentParser
import CarinaBench
import CarinaDist
import Foundation

struct SelfTestDDPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ddp",
        abstract: "Check that N ranks give the loss and gradients of one process with the N-fold batch."
    )

    @Option(help: "Largest allowed relative difference of the loss and of any parameter's gradient.")
    var tolerance: Float = 1e-5

    @Option(help: ArgumentHelp("Kill this rank with SIGKILL before it reduces, to check the job ends.", visibility: .hidden))
    var killRank: Int?

    func run() throws {
        let mpi = try Runtime.start()
        if mpi.rank == killRank { kill(getpid(), SIGKILL) }
        let outcome = try Runtime.guarded(mpi, "selftest ddp") { try EquivalenceCheck().run(mpi.world) }
        let verdict = outcome.passes(tolerance: tolerance) ? "ok" : "FAILED"
        print("selftest ddp rank \(mpi.rank)/\(mpi.size): \(verdict): loss \(outcome.loss) vs one process \(outcome.referenceLoss) "
              + "(relative \(outcome.lossDifference)), worst gradient \(outcome.worstParameter) relative \(outcome.worstGradient)")
        if !outcome.passes(tolerance: tolerance) { throw ExitCode(1) }
    }
}
