// `carina bench ops|comm|ddp|train|checkpoint`: the benchmarks, printed as tables. Not for: the measurements themselves,
// which live in CarinaBench. Run comm and ddp under mpirun (launch/mpirun.sh 2 bench comm).

import ArgumentParser
import CarinaBench
import CarinaDist
import CarinaData
import CarinaModels
import CarinaNN
import CarinaTrain

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure kernels, communication and data-parallel steps on this machine.",
        subcommands: [BenchOpsCommand.self, BenchCommCommand.self, BenchDDPCommand.self, BenchTrainCommand.self, BenchLoaderCommand.self, BenchCheckpointCommand.self]
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

struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Whole training steps of a config's method on a batch of phantoms: samples/s, GEMM GFLOP/s, share of the SGEMM peak."
    )

    @Option(help: "A run config (configs/*.yaml); its model, data size and train.globalBatch are used.")
    var config: String

    @Option(help: "Timed steps (median reported).")
    var steps = 5

    @Option(help: "The stage to time, by name, for a method trained in stages (PRIOR's alignment, prototypes, reconstruction); default the first.")
    var stage: String?

    func run() throws {
        let mpi = try Runtime.start()
        let file = try RunConfigFile(path: config)
        let result = try Runtime.guarded(mpi, "bench train") { () -> TrainStepBenchmark.Result in
            // A real batch of phantoms at the config's size, carrying what the method asks for.
            let run = file.run
            let phantoms = SyntheticCXR(count: max(run.train.globalBatch, 64), seed: 3, imageSize: run.data.imageSize)
            let tokenizer = try WordPieceTokenizer(vocabulary: VocabularyBuilder.build(corpus: (0..<phantoms.count).map { phantoms.report(at: $0) },
                                                                                       size: run.data.vocabularySize))
            let classes = phantoms.classNames.filter { !run.data.holdOutClasses.contains($0) }
            let (method, _) = try file.buildMethod(classNames: classes, vocabularySize: tokenizer.vocabularySize, tokenizer: tokenizer)
            // A config counted in epochs gets a nominal epoch of 100 steps: only the schedule's values depend on it.
            let plan = try TrainingPlan(run, batchesPerEpoch: 100, method: method, source: config)
            var first = 0
            if let stage {
                guard let found = plan.stages.first(where: { $0.name == stage }) else {
                    throw ConfigError("\(config): no stage '\(stage)'; its stages: \(plan.stages.map(\.name).joined(separator: ", "))")
                }
                first = found.first
            }
            let trainer = try Trainer(config: run, method: method, communicator: mpi.world, runDirectory: nil, plan: plan, startStep: first) { _ in }
            let b = run.train.globalBatch / mpi.size
            let text = method.requirements.tokens
                ? TextPipeline(tokenizer: tokenizer, contextLength: run.data.contextLength, requirements: method.requirements, training: true) : nil
            let batch = try BatchAssembler(source: ClassSubsetSource(phantoms, classNames: classes), transform: run.data.transform(train: true), seed: 3, text: text)
                .assemble(indices: Array((mpi.rank * b)..<((mpi.rank + 1) * b)), epoch: 0).batch
            var bench = TrainStepBenchmark()
            bench.steps = steps
            return try bench.run(communicator: mpi.world, globalBatch: run.train.globalBatch) { _ = try trainer.trainStep(batch) }
        }
        if mpi.rank == 0 { print(TrainStepBenchmark.describe(result)) }
    }
}

struct BenchCheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Checkpoint size vs raw Float32 and write/read MB/s, plain vs byte-shuffled zstd, random vs trained-like CLIP weights."
    )

    @Flag(help: "A reduced configuration that runs in a second (smoke test).")
    var quick = false

    @Option(help: "Compression threads.")
    var threads = 2

    @Option(help: "Timed repetitions (median reported).")
    var repeats = 3

    @Option(help: "Directory to write to (default: a temporary folder); put it on the disk runs use.")
    var directory: String?

    func run() throws {
        _ = try Runtime.start()
        var bench = quick ? CheckpointBenchmark.quick : CheckpointBenchmark()
        bench.threads = threads
        if !quick { bench.repeats = repeats }
        bench.directory = directory
        print(CheckpointBenchmark.table(try bench.run(), threads: threads))
    }
}

struct BenchLoaderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loader",
        abstract: "Samples/s of load or generate + augment + tokenize into batches, 1 and 2 threads."
    )

    @Option(help: "Also a shard directory (decode from PNG).") var data: String?
    @Option(help: "Image size.") var imageSize = 128

    func run() throws {
        _ = try Runtime.start()
        var bench = LoaderBenchmark()
        bench.imageSize = imageSize
        var rows = try bench.run(SyntheticCXR(count: 4096, seed: 1, imageSize: imageSize), name: "synthetic phantoms (generated)")
        if let data { rows += try bench.run(try ShardDataset(directory: data), name: "shards \(data) (PNG decode)") }
        print(LoaderBenchmark.table(rows))
    }
}
