// A whole `carina train` run: config -> data, vocabulary, method, optimizer, loader; resume from the newest
// valid checkpoint; train with checkpoints at the configured cadence and on pre-emption; evaluate; write
// metrics, curves and a summary. Rank 0 writes files and prints; every rank computes. Not for: the step
// itself (Trainer) or any method's internals.
import CarinaCheckpoint
import CarinaData
import CarinaDist
import CarinaEval
import CarinaModels
import CarinaNN
import Foundation

extension BatchLoader: BatchStream {}

public final class TrainingRun {
    public enum Resume: Equatable, Sendable {
        case none
        /// The newest checkpoint in the run directory that verifies, if any.
        case auto
        /// This file, which must verify.
        case path(String)
    }

    public let file: RunConfigFile
    public let config: RunConfig
    public let runDirectory: String
    public let communicator: Communicator
    private let say: (String) -> Void
    private let textAugment: ReportAugmentation

    public init(configPath: String, runDirectory: String, communicator: Communicator, overrideSteps: Int? = nil,
                log: @escaping (String) -> Void) throws {
        file = try RunConfigFile(path: configPath)
        var config = file.run
        if let overrideSteps { config.train.steps = overrideSteps }
        guard let textAugment = ReportAugmentation(name: config.data.textAugment, keep: config.data.sentenceKeep) else {
            throw ConfigError("\(configPath): data.textAugment must be none, sentence or subset (with data.sentenceKeep in (0, 1]); "
                              + "got '\(config.data.textAugment)' with sentenceKeep \(config.data.sentenceKeep)")
        }
        self.textAugment = textAugment
        self.config = config
        self.runDirectory = runDirectory
        self.communicator = communicator
        say = communicator.rank == 0 ? log : { _ in }
        if communicator.rank == 0 {
            do { try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true) } catch {
                throw ConfigError("cannot create the run directory \(runDirectory): \(error.localizedDescription)")
            }
        }
        try communicator.barrier()
    }

    func path(_ name: String) -> String { (runDirectory as NSString).appendingPathComponent(name) }

    // MARK: data

    struct Data {
        let source: SampleSource
        let train: [Int]
        let evaluation: [Int]
        let reports: (Int) -> String
    }

    func data() throws -> Data {
        let d = config.data
        if d.train == "synthetic" {
            let synthetic = SyntheticCXR(count: d.syntheticCount, seed: config.seed, imageSize: d.imageSize)
            let train = synthetic.split(d.trainSplit), evaluation = synthetic.split(d.evalSplit)
            guard !train.isEmpty, !evaluation.isEmpty else {
                throw ConfigError("\(file.path): data.syntheticCount \(d.syntheticCount) leaves an empty '\(d.trainSplit)' or '\(d.evalSplit)' split")
            }
            return Data(source: synthetic, train: train, evaluation: evaluation, reports: { synthetic.report(at: $0) })
        }
        let shards = try ShardDataset(directory: d.train)
        let train = shards.indices(split: d.trainSplit), evaluation = shards.indices(split: d.evalSplit)
        guard !train.isEmpty else {
            throw ConfigError("\(file.path): data.train \(d.train) has no samples in split '\(d.trainSplit)' (splits: \(shards.manifest.splits.keys.sorted().joined(separator: ", ")))")
        }
        return Data(source: shards, train: train, evaluation: evaluation, reports: { (try? shards.sample(at: $0).report) ?? "" })
    }

    /// The configured vocabulary, the one saved in the run directory, or one built by rank 0 from the
    /// training reports and saved there.
    func tokenizer(_ data: Data) throws -> WordPieceTokenizer {
        if !config.data.vocabulary.isEmpty { return try WordPieceTokenizer(vocabularyFile: config.data.vocabulary) }
        let saved = path("vocab.txt")
        if communicator.rank == 0 && !FileManager.default.fileExists(atPath: saved) {
            let vocab = VocabularyBuilder.build(corpus: data.train.map(data.reports), size: config.data.vocabularySize)
            try VocabularyBuilder.write(vocab, to: saved)
            say("built a \(vocab.count)-token vocabulary from \(data.train.count) training reports: \(saved)")
        }
        try communicator.barrier()
        return try WordPieceTokenizer(vocabularyFile: saved)
    }

    func transform(train: Bool) -> ImageTransform {
        let d = config.data
        var t = ImageTransform(size: d.imageSize, train: train && d.augment)
        (t.cropScaleMin, t.rotationDegrees, t.translate, t.brightness, t.contrast, t.mean, t.std) =
            (d.cropScaleMin, d.rotationDegrees, d.translate, d.brightness, d.contrast, d.mean, d.std)
        return t
    }

    // MARK: the run

    public struct Summary: Sendable {
        public let steps: Int
        public let resumedFrom: String?
        public let outcome: Trainer.Outcome
        public let evaluation: [String: Double]
        /// The same evaluation of the untrained model (same initialisation), if asked for.
        public let untrained: [String: Double]
        public let checkpoint: String?
    }

    /// Tests replace the process's signal flag with their own stop condition (called after each step).
    public var stopCheck: ((_ step: Int) -> Int32?)? = nil

    public func run(resume: Resume) throws -> Summary {
        let data = try data()
        let tokenizer = try tokenizer(data)
        let (method, resolvedModel) = try file.buildMethod(classNames: data.source.classNames, vocabularySize: tokenizer.vocabularySize)
        let resolved = try ConfigLoader.yaml(config) + "model:\n" + resolvedModel.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
        if communicator.rank == 0 { try resolved.write(toFile: path("config.yaml"), atomically: true, encoding: .utf8) }
        let store = try CheckpointStore(directory: path("checkpoints"), keepLast: config.train.keepCheckpoints, keepEvery: config.train.keepEvery)

        // Resume: every rank reads the same checkpoint; DataParallel then verifies they agree.
        var restored: (path: String, contents: CheckpointContents)? = nil
        switch resume {
        case .none: break
        case .auto:
            if let found = store.latestValid() {
                for s in found.skipped { say("resume: skipped \(s.path): \(s.reason)") }
                restored = (found.path, found.contents)
            }
        case let .path(p): restored = (p, try CheckpointFile.read(p))
        }
        let modelState = method.model.namedParameters.map { (name: $0.name, tensor: $0.tensor) } + method.model.namedBuffers
        if restored == nil, let finetune = method as? FineTuneMethod, !finetune.initFrom.isEmpty {
            // A fresh fine-tune starts from a contrastive run's image encoder (same parameter names).
            let path = try CheckpointStore.resolve(finetune.initFrom)
            let wanted = Set(finetune.network.encoderParameters.map(\.name))
            let stored = try CheckpointFile.read(path).model.filter { wanted.contains($0.name) }
            try CheckpointFile.load(stored, into: finetune.network.encoderParameters, path: path, group: "model")
            say("fine-tuning starts from the image encoder of \(path) (\(stored.count) tensors)")
        }
        if let restored {
            try CheckpointFile.load(restored.contents.model, into: modelState, path: restored.path, group: "model")
            say("resumed from \(restored.path) at step \(restored.contents.state.step) (saved on \(restored.contents.state.worldSize) rank(s), now \(communicator.size))")
        }
        let trainer = try Trainer(config: config, method: method, communicator: communicator, runDirectory: communicator.rank == 0 ? runDirectory : nil,
                                  initialSync: restored == nil ? .broadcast : .verify) { [say] in say($0) }
        var samplerState = SamplerState()
        if let restored {
            let state = restored.contents.state
            try CheckpointFile.load(restored.contents.optimizer, into: trainer.optimizer.state, path: restored.path, group: "optimizer")
            trainer.optimizer.setStepCount(state.optimizerStep)
            trainer.step = state.step
            samplerState = SamplerState(epoch: state.epoch, samplesConsumed: state.samplesConsumed)
        }

        let contextLength = config.data.contextLength
        let tokenize: ReportTokenizer = { report, _ in tokenizer.encode(report, contextLength: contextLength) }
        let trainSource = SubsetSource(data.source, indices: data.train)
        let assembler = BatchAssembler(source: trainSource, transform: transform(train: true), seed: config.seed,
                                       tokenize: method.needsText ? tokenize : nil, contextLength: contextLength,
                                       threads: config.data.workers, skipBadSamples: config.data.skipBadSamples,
                                       reportAugmentation: config.data.augment && method.needsText ? textAugment : .none)
        let sampler = try DistributedSampler(datasetSize: trainSource.count, globalBatch: config.train.globalBatch, seed: config.seed, state: samplerState)
        let loader = BatchLoader(assembler: assembler, sampler: sampler, rank: communicator.rank, worldSize: communicator.size,
                                 prefetch: config.data.prefetch)
        say("training \(config.method) (\(method.model.parameterCount()) parameters) on \(trainSource.count) samples, "
            + "\(communicator.size) rank(s) x \(config.train.globalBatch / communicator.size) per step, steps \(trainer.step)..<\(config.train.steps)")

        trainer.showsProgressBar = communicator.rank == 0 && ProgressBar.isTerminal
        if let stopCheck { trainer.stopCheck = { [unowned trainer] in stopCheck(trainer.step) } } else { StopSignal.install() }
        var lastSaved: String? = nil
        // Every rank tracks the last saved step (only rank 0 knows the path): ranks must agree on saving.
        var savedStep = restored?.contents.state.step
        func save(_ t: Trainer) throws {
            savedStep = t.step
            let position = loader.samplerState
            let contents = CheckpointContents(
                model: t.method.model.namedParameters.map { (name: $0.name, tensor: $0.tensor) } + t.method.model.namedBuffers,
                optimizer: t.optimizer.state,
                state: RunState(step: t.step, epoch: position.epoch, samplesConsumed: position.samplesConsumed, seed: config.seed,
                                worldSize: communicator.size, optimizerStep: t.optimizer.stepCount, config: resolved))
            if communicator.rank == 0 { lastSaved = try store.save(contents, step: t.step) }
            try communicator.barrier()
        }
        let outcome = try trainer.run(loader) { t, stopping in
            let every = config.train.checkpointEvery
            if stopping || (every > 0 && t.step % every == 0) || t.step == config.train.steps {
                try save(t)
                if stopping { say("stop signal: checkpoint written at step \(t.step); resume with --resume auto") }
            }
        }
        if savedStep != trainer.step { try save(trainer) }
        var evaluation: [String: Double] = [:], untrained: [String: Double] = [:]
        if outcome == .finished, !data.evaluation.isEmpty, let finetune = method as? FineTuneMethod {
            say("evaluating on \(data.evaluation.count) held-out samples ...")
            evaluation = try evaluateClassifier(finetune, data: data)
            try trainer.metrics?.append(MetricsRecord(step: trainer.step, kind: "eval", values: evaluation, time: trainer.elapsed))
        }
        if outcome == .finished, !data.evaluation.isEmpty, let clip = method as? CLIPMethod {
            say("evaluating on \(data.evaluation.count) held-out samples ...")
            evaluation = try evaluate(clip, data: data, tokenizer: tokenizer)
            try trainer.metrics?.append(MetricsRecord(step: trainer.step, kind: "eval", values: evaluation, time: trainer.elapsed))
            if config.eval.compareUntrained, let fresh = try file.buildMethod(classNames: data.source.classNames,
                                                                              vocabularySize: tokenizer.vocabularySize).method as? CLIPMethod {
                untrained = try evaluate(fresh, data: data, tokenizer: tokenizer)
            }
        }
        if communicator.rank == 0 {
            _ = try? Plot.write(runDirectory: runDirectory)
        }
        return Summary(steps: trainer.step, resumedFrom: restored?.path, outcome: outcome, evaluation: evaluation, untrained: untrained,
                       checkpoint: lastSaved ?? store.latestPointer)
    }

    /// Zero-shot, linear-probe and retrieval evaluation of a contrastive model on the evaluation split,
    /// with probe-training features from (at most 2000 of) the training split.
    func evaluate(_ clip: CLIPMethod, data: Data, tokenizer: WordPieceTokenizer) throws -> [String: Double] {
        var evalIndices = data.evaluation
        if config.eval.maxSamples > 0 { evalIndices = Array(evalIndices.prefix(config.eval.maxSamples)) }
        var settings = ContrastiveEvaluation(classNames: data.source.classNames)
        (settings.zeroShot, settings.linearProbe, settings.retrieval, settings.probeFractions, settings.seed) =
            (config.eval.zeroShot, config.eval.linearProbe, config.eval.retrieval, config.eval.probeFractions, config.seed)
        return try settings.evaluate(clip.clip, source: data.source, evaluation: evalIndices,
                                     probeTraining: config.eval.linearProbe ? Array(data.train.prefix(2000)) : [],
                                     tokenizer: tokenizer, contextLength: config.data.contextLength, transform: transform(train: false),
                                     workers: config.data.workers, communicator: communicator)
    }

    /// Per-finding ROC AUC of a fine-tuned classifier on the evaluation split (each rank its share).
    func evaluateClassifier(_ finetune: FineTuneMethod, data: Data) throws -> [String: Double] {
        var indices = data.evaluation
        if config.eval.maxSamples > 0 { indices = Array(indices.prefix(config.eval.maxSamples)) }
        let mine = EvaluationShard.range(count: indices.count, rank: communicator.rank, size: communicator.size)
        let assembler = BatchAssembler(source: data.source, transform: transform(train: false), seed: config.seed, tokenize: nil,
                                       contextLength: config.data.contextLength, threads: config.data.workers)
        var scores: [Float] = [], labels: [Float] = []
        try Autograd.withoutGrad {
            finetune.network.eval()
            defer { finetune.network.train() }
            for batch in try EvaluationBatches(assembler: assembler, indices: Array(indices[mine]), batch: 64).collect() {
                scores += try finetune.network(batch.images).scalars
                labels += zip(batch.labels.scalars, batch.labelMask.scalars).map { $1 == 1 ? $0 : -1 }
            }
        }
        let names = data.source.classNames
        let m = MultiLabelMetrics(scores: try communicator.allGatherVariable(scores).values, labels: try communicator.allGatherVariable(labels).values,
                                  classNames: names)
        var out: [String: Double] = ["finetune_macro_auc": m.macroAUC ?? .nan, "finetune_mean_ap": m.meanAveragePrecision ?? .nan]
        for (name, auc) in zip(names, m.auc) { out["finetune_auc/\(name)"] = auc ?? .nan }
        return out
    }
}
