// `carina bench ops|comm|ddp`: the benchmarks, printed as tables. Not for: the measurements themselves,
// which live in CarinaBench. Run comm and ddp under mpirun (launch/mpirun.sh 2 bench comm).

import ArgumentParser
import CarinaBench
import CarinaDist
import CarinaModels

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure kernels, communication and data-parallel steps on this machine.",
        subcommands: [BenchOpsCommand.self, BenchCommCommand.self, BenchDDPCommand.self]
    )
}

struct BenchOpsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops",
        abstract: "GEMMs of a ViT-Tiny block and a whole block fwd+bwd against the SGEMM peak, 1 and 2 threads."
    )

    @Flag(help: "A reduced configuration that runs in a second (smoke test).")
    var quick = false

    func run() throws {
        _ = try Runtime.start()
        let bench = quick ? OpBenchmark.quick : OpBenchmark()
        let rows = try bench.run()
        print(OpBenchmark.table(rows))
    }
}

struct BenchCommCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "comm",
        abstract: "All-reduce and all-gather time, algbw and busbw (nccl-tests definitions), 4 KB to 64 MB."
    )

    @Option(help: "Timed repetitions per size (median reported).")
    var repeats = 10

    func run() throws {
        let mpi = try Runtime.start()
        var bench = CommBenchmark()
        bench.repeats = repeats
        let rows = try Runtime.guarded(mpi, "bench comm") { try bench.run(mpi.world) }
        if mpi.rank == 0 { print(CommBenchmark.table(rows, ranks: mpi.size)) }
    }
}

struct BenchDDPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ddp",
        abstract: "A data-parallel CLIP-tiny training step: step time, samples/s, share spent waiting on communication."
    )

    @Option(help: "Samples per rank per step.")
    var localBatch = 32

    @Option(help: "Timed steps.")
    var steps = 6

    func run() throws {
        let mpi = try Runtime.start()
        var bench = DataParallelStepBenchmark(config: CLIPConfig(), localBatch: localBatch)
        bench.steps = steps
        let result = try Runtime.guarded(mpi, "bench ddp") { try bench.run(mpi.world) }
        if mpi.rank == 0 { print(DataParallelStepBenchmark.describe(result)) }
    }
}
