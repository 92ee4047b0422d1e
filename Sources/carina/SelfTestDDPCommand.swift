// `carina selftest ddp`: DESIGN invariant 1 under a real launcher, for every registered method (or one):
// the ranks' step (local batch b, global negatives and batch-coupled terms gathered, bucketed all-reduce)
// against one process with the global batch. Not for: the check itself (CarinaTrain's EquivalenceCheck,
// also run on in-process ranks by the tests).

import ArgumentParser
import CarinaTrain
import Foundation

struct SelfTestDDPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ddp",
        abstract: "Check that N ranks give the loss and gradients of one process with the N-fold batch, for every method."
    )

    @Option(help: "Largest allowed relative difference of the loss and of any parameter's gradient.")
    var tolerance: Float = 1e-4

    @Option(help: "Check only this method (default: every registered one).")
    var method: String?

    @Option(help: ArgumentHelp("Kill this rank with SIGKILL before it reduces, to check the job ends.", visibility: .hidden))
    var killRank: Int?

    func run() throws {
        let mpi = try Runtime.start()
        if mpi.rank == killRank { kill(getpid(), SIGKILL) }
        let registrations = try method.map { [try MethodRegistry.registration($0, source: "--method")] } ?? MethodRegistry.all
        var failed = false
        for registration in registrations {
            let outcome = try Runtime.guarded(mpi, "selftest ddp \(registration.name)") { try EquivalenceCheck(registration).run(mpi.world) }
            let verdict = outcome.passes(tolerance: tolerance) ? "ok" : "FAILED"
            failed = failed || !outcome.passes(tolerance: tolerance)
            print("selftest ddp \(registration.name) rank \(mpi.rank)/\(mpi.size): \(verdict): loss \(outcome.loss) vs one process \(outcome.referenceLoss) "
                  + "(relative \(outcome.lossDifference)), worst gradient \(outcome.worstParameter) relative \(outcome.worstGradient)")
        }
        if failed { throw ExitCode(1) }
    }
}
