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
        abstract: "Data-parallel CLIP training steps: ms/step, samples/s, time waiting on communication, per bucket size, overlapped with backward or after it, beside the compute-only step and the all-reduce bandwidth."
    )

    @Option(help: "Samples per rank per step.")
    var localBatch = 32

    @Option(help: "Timed steps per row.")
    var steps = 6

    @Option(help: "tiny (clip-tiny) or vit-s (a ViT-S/16 image tower, ~100 MB of gradients: communication matters).")
    var model = "tiny"

    @Option(help: "Image size, pixels.")
    var imageSize = 128

    @Option(help: "Gradient bucket sizes to compare, MB, comma-separated.")
    var bucketMB = "25"

    @Option(help: "on (buckets reduced during backward), off (all after backward) or both.")
    var overlap = "on"

    func run() throws {
        let mpi = try Runtime.start()
        var config: CLIPConfig
        switch model {
        case "tiny": config = CLIPConfig()
        case "vit-s": config = DataParallelStepBenchmark.vitSmall
        default: throw ConfigError("bench ddp: --model \(model): expected tiny or vit-s")
        }
        config.imageSize = imageSize
        let parts = bucketMB.split(separator: ",")
        let sizes = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 > 0 }
        guard !sizes.isEmpty, sizes.count == parts.count else { throw ConfigError("bench ddp: --bucket-mb \(bucketMB): expected positive whole MB, e.g. 1,4,25") }
        let modes: [Bool]
        switch overlap {
        case "on": modes = [true]
        case "off": modes = [false]
        case "both": modes = [true, false]
        default: throw ConfigError("bench ddp: --overlap \(overlap): expected on, off or both")
        }
        let (localBatch, steps) = (self.localBatch, self.steps)
        let text = try Runtime.guarded(mpi, "bench ddp") { () -> String in
            let setup = DataParallelStepBenchmark.Setup(config: config, localBatch: localBatch, rank: mpi.rank)
            var bench = DataParallelStepBenchmark(config: config, localBatch: localBatch)
            bench.steps = steps
            var rows: [DataParallelStepBenchmark.Result] = []
            for mode in modes {
                for size in sizes {
                    bench.overlap = mode
                    bench.bucketBytes = size << 20
                    rows.append(try bench.run(mpi.world, setup: setup))
                }
            }
            let reduce = try DataParallelStepBenchmark.allReduceSeconds(mpi.world, bytes: rows[0].gradientBytes)
            return DataParallelStepBenchmark.table(rows, allReduceSeconds: reduce)
        }
        if mpi.rank == 0 { print(text) }
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

    @Flag(help: "Also time every op of as many steps again and print where the time goes, by category (GEMM, attention, normalisation, elementwise, losses, optimizer, communication) and by op, with the loader's cost of a batch.")
    var profile = false

    @Flag(help: "Also time as many steps again on each GEMM engine, alternated step by step (Carina's kernel, OpenBLAS), and print their ratio: on a shared machine only a ratio measured this way means anything.")
    var compareGemm = false

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
            let assembler = BatchAssembler(source: ClassSubsetSource(phantoms, classNames: classes), transform: run.data.transform(train: true), seed: 3, text: text)
            let indices = Array((mpi.rank * b)..<((mpi.rank + 1) * b))
            let batch = try assembler.assemble(indices: indices, epoch: 0).batch
            var bench = TrainStepBenchmark()
            bench.steps = steps
            bench.compareEngines = compareGemm
            return try bench.run(communicator: mpi.world, globalBatch: run.train.globalBatch, profile: profile,
                                 makeBatch: { _ = try assembler.assemble(indices: indices, epoch: 0) }) { _ = try trainer.trainStep(batch) }
        }
        if mpi.rank == 0 {
            print(TrainStepBenchmark.describe(result))
            if profile { print("\n" + TrainStepBenchmark.profileTable(result)) }
        }
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
