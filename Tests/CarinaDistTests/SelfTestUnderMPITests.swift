// The real MPI path: the built `carina selftest` run alone (a world of one) and under `mpirun -np 2`.
// Not for: the collectives' arithmetic on threads acting as ranks in one process (LocalCommunicator's tests).

import CarinaTestSupport
import Foundation
import Testing

private let mpirun = CarinaBinary.onPath("mpirun")

extension Trait where Self == ConditionTrait {
    /// Skips, with a message, where mpirun is missing, except in CI (CI=true), where the test runs and fails.
    static var needsMpirun: Self {
        .enabled(if: mpirun != nil || ProcessInfo.processInfo.environment["CI"] == "true",
                 "mpirun not on PATH (install openmpi-bin, e.g. launch/setup.sh); required when CI=true")
    }
}

/// mpirun, or nil after recording a failure (reached only in CI, where `needsMpirun` does not skip).
private func requireMpirun() -> URL? {
    if mpirun == nil { Issue.record("mpirun not on PATH; CI needs it (launch/setup.sh installs openmpi-bin)") }
    return mpirun
}

/// What mpirun needs to run as root in a container, with OpenBLAS on one thread per rank.
private let mpiEnvironment = [
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "OPENBLAS_NUM_THREADS": "1",
]

@Suite struct SelfTestUnderMPITests {
    @Test func withoutMpirunTheProcessIsAWorldOfOne() async throws {
        let result = try await runSubprocess(try CarinaBinary.locate(), ["selftest"], environment: mpiEnvironment)
        #expect(result.status == 0, "stderr:\n\(result.stderr)")
        #expect(result.stdout == "selftest rank 0/1: allreduce ok (1.0), allgather ok, broadcast ok, reduce-scatter ok, non-blocking ok, zstd ok, png ok\n")
    }

    @Test(.needsMpirun) func twoRanksUnderMpirunAllReduce() async throws {
        guard let mpirun = requireMpirun() else { return }
        let binary = try CarinaBinary.locate()
        let result = try await runSubprocess(mpirun, ["-np", "2", "--oversubscribe", binary.path, "selftest"],
                                             environment: mpiEnvironment)
        #expect(result.status == 0, "stdout:\n\(result.stdout)\nstderr:\n\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init).sorted()
        #expect(lines == (0..<2).map { "selftest rank \($0)/2: allreduce ok (3.0), allgather ok, broadcast ok, reduce-scatter ok, non-blocking ok, zstd ok, png ok" },
                "stderr:\n\(result.stderr)")
    }

    @Test(.needsMpirun) func aFailingRankEndsTheWholeJobInsteadOfHanging() async throws {
        guard let mpirun = requireMpirun() else { return }
        // Rank 1 fails while rank 0 waits for it in the all-gather: only MPI_Abort ends rank 0.
        let binary = try CarinaBinary.locate()
        let result = try await runSubprocess(mpirun, ["-np", "2", "--oversubscribe", binary.path, "selftest", "--fail-on-rank", "1"],
                                             environment: mpiEnvironment, timeout: .seconds(30))
        #expect(result.status != 0)
        #expect(result.stderr.contains("rank 1/2: selftest failed: rank 1 fails on purpose"), "stderr:\n\(result.stderr)")
    }

    @Test(.needsMpirun) func twoRanksUnderMpirunMatchOneProcessWithTheDoubleBatchForEveryMethod() async throws {
        guard let mpirun = requireMpirun() else { return }
        let binary = try CarinaBinary.locate()
        let result = try await runSubprocess(mpirun, ["-np", "2", "--oversubscribe", binary.path, "selftest", "ddp"],
                                             environment: mpiEnvironment)
        expectEveryMethodMatchedOneProcess(result, ranks: 2)
    }

    @Test(.needsMpirun) func aKilledRankEndsTheJobWhichNamesTheRankAndTheSignal() async throws {
        guard let mpirun = requireMpirun() else { return }
        let binary = try CarinaBinary.locate()
        let result = try await runSubprocess(mpirun, ["-np", "2", "--oversubscribe", binary.path, "selftest", "ddp", "--kill-rank", "1"],
                                             environment: mpiEnvironment, timeout: .seconds(30))
        #expect(result.status != 0)
        // mpirun's report, e.g. "process rank 1 with PID 0 on node vm exited on signal 9 (Killed)".
        #expect(result.stderr.contains("rank 1") && result.stderr.contains("signal 9"), "stderr:\n\(result.stderr)")
    }
}

/// What `carina selftest ddp` prints when every method Carina ships (the list the binary registers: these at
/// least) trained on every rank exactly as one process with the global batch.
func expectEveryMethodMatchedOneProcess(_ result: SubprocessResult, ranks: Int) {
    #expect(result.status == 0, "stdout:\n\(result.stdout)\nstderr:\n\(result.stderr)")
    let lines = result.stdout.split(separator: "\n").map(String.init)
    for method in ["clip", "finetune", "pspg", "coop", "dualcoop", "m3ae", "m3ae-finetune", "prior"] {
        for rank in 0..<ranks {
            #expect(lines.contains { $0.hasPrefix("selftest ddp \(method) rank \(rank)/\(ranks): ok: ") }, "\(method) rank \(rank):\n\(result.stdout)")
        }
    }
    #expect(!lines.contains { $0.contains("FAILED") }, "\(result.stdout)")
}
