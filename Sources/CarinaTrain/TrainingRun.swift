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
    private let overrideSteps: Int?

    public init(configPath: String, runDirectory: String, communicator: Communicator, overrideSteps: Int? = nil,
                log: @escaping (String) -> Void) throws {
        file = try RunConfigFile(path: configPath)
        var config = file.run
        // `--steps N`: a single-stage run becomes N steps long (its schedule fitted to them); a staged run
        // stops after N steps.
        if let overrideSteps, config.train.stages.isEmpty { (config.train.steps, config.train.epochs) = (overrideSteps, 0) }
        self.overrideSteps = overrideSteps
        for (key, value, range) in [("data.imageSize", config.data.imageSize, 8...4096), ("data.contextLength", config.data.contextLength, 2...8192),
                                    ("train.globalBatch", config.train.globalBatch, 1...1_000_000)] where !range.contains(value) {
            throw ConfigError("\(configPath): \(key) is \(value); it must be in \(range.lowerBound)...\(range.upperBound)")
        }
        guard config.train.globalBatch % communicator.size == 0 else {
            throw ConfigError("\(configPath): train.globalBatch \(config.train.globalBatch) does not split over \(communicator.size) ranks")
        }
        guard config.train.collectiveTimeout >= 1 && config.train.collectiveTimeout <= 604_800 else {
            throw ConfigError("\(configPath): train.collectiveTimeout is \(config.train.collectiveTimeout) s; it must be in 1...604800 (a week)")
        }
        guard ["stop", "continue"].contains(config.train.onCheckpointError) else {
            throw ConfigError("\(configPath): train.onCheckpointError must be stop or continue, got '\(config.train.onCheckpointError)'")
        }
        guard ["max", "min"].contains(config.eval.selectMode) else {
            throw ConfigError("\(configPath): eval.selectMode must be max or min, got '\(config.eval.selectMode)'")
        }
        guard config.data.trainFraction > 0 && config.data.trainFraction <= 1 else {
            throw ConfigError("\(configPath): data.trainFraction must be in (0, 1], got \(config.data.trainFraction)")
        }
        guard let textAugment = ReportAugmentation(name: config.data.textAugment, keep: config.data.sentenceKeep) else {
            throw ConfigError("\(configPath): data.textAugment must be none, sentence or subset (with data.sentenceKeep in (0, 1]); "
                              + "got '\(config.data.textAugment)' with sentenceKeep \(config.data.sentenceKeep)")
        }
        guard ["image", "study"].contains(config.data.samplePer) else {
            throw ConfigError("\(configPath): data.samplePer must be image or study, got '\(config.data.samplePer)'")
        }
        let extra = config.eval.singleLabelSyntheticCount
        guard extra == 0 || (extra > 0 && config.data.train == "synthetic") else {
            throw ConfigError("\(configPath): eval.singleLabelSyntheticCount is \(extra): it must be positive, and it needs data.train: synthetic (it draws further phantoms)")
        }
        self.textAugment = textAugment
        self.config = config
        self.runDirectory = runDirectory
        self.communicator = communicator
        say = communicator.rank == 0 ? log : { _ in }
        (communicator as? MPICommunicator)?.collectiveTimeout = config.train.collectiveTimeout
        if communicator.rank == 0 {
            do { try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true) } catch {
                throw ConfigError("cannot create the run directory \(runDirectory): \(error.localizedDescription)")
            }
            // A read-only mount or a directory without write permission: say so now, not at the first checkpoint.
            try TrainingRun.checkWritable(runDirectory)
        }
        try communicator.barrier()
    }

    /// Creates, fsyncs and removes a small file in `directory`; throws naming the directory and the
    /// system's reason when it cannot.
    static func checkWritable(_ directory: String) throws {
        let probe = (directory as NSString).appendingPathComponent(".carina-write-test-\(getpid())")
        let fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        var reason: String? = nil
        if fd < 0 {
            reason = String(cString: strerror(errno))
        } else {
            let byte: [UInt8] = [0x0A]
            if byte.withUnsafeBytes({ write(fd, $0.baseAddress, 1) }) != 1 || fsync(fd) != 0 { reason = String(cString: strerror(errno)) }
            close(fd)
            unlink(probe)
        }
        if let reason {
            throw TrainingError("the run directory \(directory) is not writable (\(reason)); checkpoints, metrics and the resolved config go "
                                + "there: fix its permissions or mount, or choose another with --run-dir")
        }
    }

    /// The file a run writes when its last step is done and checkpointed (job scripts read it to decide
    /// whether to requeue); removed when a run starts training.
    public static let finishedMarker = "finished"

    func path(_ name: String) -> String { (runDirectory as NSString).appendingPathComponent(name) }

    // MARK: data

    struct Data {
        /// Every sample and every finding (evaluation reads it whole).
        let source: SampleSource
        /// The training split (its `data.trainFraction`) and the evaluation split, indices into `source`.
        let train: [Int]
        let evaluation: [Int]
        let reports: (Int) -> String
        /// `data.holdOutClasses`, in the source's class order.
        let heldOut: [String]

        /// `source` as training sees it: without the held-out findings.
        var trainingSource: SampleSource {
            heldOut.isEmpty ? source : ClassSubsetSource(source, classNames: source.classNames.filter { !heldOut.contains($0) })
        }
    }

    func data() throws -> Data {
        let d = config.data
        let source: SampleSource, train: [Int], evaluation: [Int], reports: (Int) -> String
        if d.train == "synthetic" {
            let synthetic = SyntheticCXR(count: d.syntheticCount, seed: config.seed, imageSize: d.imageSize)
            for (key, name) in [("trainSplit", d.trainSplit), ("evalSplit", d.evalSplit)] where !SplitAssigner.names.contains(name) {
                throw ConfigError("\(file.path): data.\(key) '\(name)' is not a split of the synthetic phantoms (\(SplitAssigner.names.joined(separator: ", ")))")
            }
            (train, evaluation) = (synthetic.split(d.trainSplit), synthetic.split(d.evalSplit))
            guard !train.isEmpty, !evaluation.isEmpty else {
                throw ConfigError("\(file.path): data.syntheticCount \(d.syntheticCount) leaves an empty '\(d.trainSplit)' or '\(d.evalSplit)' split")
            }
            // Phantoms are rendered once and kept (bit-identical samples) when they fit in 1 GiB: the quickstart's
            // 4096 at 128 px take 64 MiB per rank and save ~90 % of the rendering its loader workers would do.
            let memoized = d.syntheticCount * d.imageSize * d.imageSize <= 1 << 30
            (source, reports) = (memoized ? MemoizedSource(synthetic) : synthetic, { synthetic.report(at: $0) })
        } else {
            guard d.maxImagePixels > 0 else { throw ConfigError("\(file.path): data.maxImagePixels is \(d.maxImagePixels); it must be positive") }
            let shards = try ShardDataset(directory: d.train, maxImagePixels: d.maxImagePixels)
            (train, evaluation) = (shards.indices(split: d.trainSplit), shards.indices(split: d.evalSplit))
            guard !train.isEmpty else {
                throw ConfigError("\(file.path): data.train \(d.train) has no samples in split '\(d.trainSplit)' (splits: \(shards.manifest.splits.keys.sorted().joined(separator: ", ")))")
            }
            (source, reports) = (shards, { (try? shards.sample(at: $0).report) ?? "" })
        }
        let classes = source.classNames
        if let unknown = d.holdOutClasses.first(where: { !classes.contains($0) }) {
            throw ConfigError("\(file.path): data.holdOutClasses names '\(unknown)', which is not a finding of \(d.train == "synthetic" ? "the synthetic phantoms" : d.train) "
                              + "(findings: \(classes.joined(separator: ", ")))")
        }
        guard classes.isEmpty || classes.contains(where: { !d.holdOutClasses.contains($0) }) else {
            throw ConfigError("\(file.path): data.holdOutClasses holds out every finding (\(classes.joined(separator: ", "))); at least one must stay seen")
        }
        return Data(source: source, train: Self.fraction(train, d.trainFraction, seed: config.seed), evaluation: evaluation, reports: reports,
                    heldOut: classes.filter { d.holdOutClasses.contains($0) })
    }

    /// `data.trainFraction` of `indices`: round(fraction x N) of them (at least 1), drawn by a permutation
    /// keyed by the seed alone (any world size draws the same), in their original order.
    static func fraction(_ indices: [Int], _ fraction: Float, seed: UInt64) -> [Int] {
        guard fraction < 1, !indices.isEmpty else { return indices }
        let keep = max(1, Int((Double(fraction) * Double(indices.count)).rounded()))
        var rng = RNG(seed: seed, "data.trainFraction")
        return rng.permutation(indices.count).prefix(keep).sorted().map { indices[$0] }
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

    func transform(train: Bool) -> ImageTransform { config.data.transform(train: train) }

    /// The method this run's config builds for its data, holding its starting weights (its weight sources
    /// loaded). The trainer calls `weightsLoaded()`; code that evaluates it without one must.
    func freshMethod(_ data: Data, _ tokenizer: WordPieceTokenizer) throws -> (method: TrainingMethod, resolvedModel: String, log: [String]) {
        let (method, resolved) = try file.buildMethod(classNames: data.trainingSource.classNames, vocabularySize: tokenizer.vocabularySize, tokenizer: tokenizer)
        let lines = try WeightLoader.load(method.weightSources, into: method.model)
        return (method, resolved, lines)
    }

    // MARK: the run

    public struct Summary: Sendable {
        public let steps: Int
        public let resumedFrom: String?
        public let outcome: Trainer.Outcome
        /// The evaluation at the end (nil when none ran: pre-empted, or no evaluation split).
        public let evaluation: EvaluationReport?
        /// The same evaluation of the model as it started (same starting weights), if asked for.
        public let untrained: EvaluationReport?
        public let checkpoint: String?
        /// The checkpoint with the best `eval.select` value, if selecting.
        public let best: String?
    }

    /// Tests replace the process's signal flag with their own stop condition (called after each step).
    public var stopCheck: ((_ step: Int) -> Int32?)? = nil

    public func run(resume: Resume) throws -> Summary {
        let data = try data()
        let tokenizer = try tokenizer(data)
        let fresh = try freshMethod(data, tokenizer)
        let method = fresh.method
        var initLog = fresh.log
        let resolved = try ConfigLoader.yaml(config) + "model:\n" + fresh.resolvedModel.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
        if communicator.rank == 0 {
            try resolved.write(toFile: path("config.yaml"), atomically: true, encoding: .utf8)
            try data.trainingSource.classNames.map { $0 + "\n" }.joined().write(toFile: path("classes.txt"), atomically: true, encoding: .utf8)
            try data.heldOut.map { $0 + "\n" }.joined().write(toFile: path("heldout.txt"), atomically: true, encoding: .utf8)
        }
        let store = try CheckpointStore(directory: path("checkpoints"), keepLast: config.train.keepCheckpoints, keepEvery: config.train.keepEvery)
        if communicator.rank == 0 { unlink(path(TrainingRun.finishedMarker)) }

        // Resume: every rank reads the same checkpoint; DataParallel then verifies they agree.
        var restored: (path: String, contents: CheckpointContents)? = nil
        let expected = method.model.namedState.map { (name: $0.name, shape: $0.tensor.shape) }
        switch resume {
        case .none: break
        case .auto:
            if let found = try store.latestValid(expecting: expected) {
                for s in found.skipped { say("resume: skipped \(s.path): \(s.reason)") }
                restored = (found.path, found.contents)
            }
        case let .path(p): restored = (p, try CheckpointFile.read(p, expecting: expected))
        }
        if let restored {
            try CheckpointFile.load(restored.contents.model, into: method.model.namedState, path: restored.path, group: "model")
            say("resumed from \(restored.path) at step \(restored.contents.state.step) (saved on \(restored.contents.state.worldSize) rank(s), now \(communicator.size))")
            initLog = []
        }
        for line in initLog { say(line) }
        if !data.heldOut.isEmpty { say("held out of training (data.holdOutClasses): \(data.heldOut.joined(separator: ", "))") }

        let trainSource = SubsetSource(data.trainingSource, indices: data.train)
        let samplerState = restored.map { SamplerState(epoch: $0.contents.state.epoch, samplesConsumed: $0.contents.state.samplesConsumed) } ?? SamplerState()
        let sampler: DistributedSampler
        if config.data.samplePer == "study" {
            let groups = try Self.studies(trainSource)
            say("data.samplePer: study: \(groups.count) studies of \(trainSource.count) training images, one image of each per epoch")
            sampler = try DistributedSampler(groups: groups, globalBatch: config.train.globalBatch, seed: config.seed, state: samplerState)
        } else {
            sampler = try DistributedSampler(datasetSize: trainSource.count, globalBatch: config.train.globalBatch, seed: config.seed, state: samplerState)
        }
        let plan = try TrainingPlan(config, batchesPerEpoch: sampler.batchesPerEpoch, method: method, source: file.path,
                                    stopAfter: config.train.stages.isEmpty ? nil : overrideSteps)
        let startStep = restored?.contents.state.step ?? 0
        let trainer = try Trainer(config: config, method: method, communicator: communicator, runDirectory: communicator.rank == 0 ? runDirectory : nil,
                                  plan: plan, startStep: startStep, initialSync: restored == nil ? .broadcast : .verify) { [say] in say($0) }
        if let restored {
            let state = restored.contents.state
            if state.stage == trainer.stageIndex {
                try CheckpointFile.load(TrainingRun.optimizerState(restored.contents.optimizer, state: state, into: trainer.optimizer),
                                        into: trainer.optimizer.state, path: restored.path, group: "optimizer")
                trainer.optimizer.setStepCount(state.optimizerStep)
            } else {
                say("resume: step \(startStep) starts stage '\(plan.stages[trainer.stageIndex].name)' with a new optimizer")
            }
        }

        let requirements = method.requirements
        let reading = method.textEncoding ?? TextEncoding(tokenizer: tokenizer, contextLength: config.data.contextLength)
        let text = requirements.tokens ? TextPipeline(tokenizer: reading.tokenizer, contextLength: reading.contextLength, requirements: requirements,
                                                      augmentation: config.data.augment ? textAugment : .none, training: true) : nil
        let assembler = BatchAssembler(source: trainSource, transform: transform(train: true), seed: config.seed, text: text,
                                       threads: config.data.workers, skipBadSamples: config.data.skipBadSamples)
        let loader = BatchLoader(assembler: assembler, sampler: sampler, rank: communicator.rank, worldSize: communicator.size,
                                 prefetch: config.data.prefetch)
        say("training \(config.method) (\(method.model.parameterCount()) parameters, \(method.model.parameterCount(trainableOnly: true)) trainable) on "
            + "\(trainSource.count) samples, \(communicator.size) rank(s) x \(config.train.globalBatch / communicator.size) per step, "
            + "steps \(trainer.step)..<\(plan.totalSteps)" + (plan.stages.count > 1 ? " in \(plan.stages.count) stages (\(plan.stages.map(\.name).joined(separator: ", ")))" : ""))

        if restored == nil {
            try trainer.metrics?.append(MetricsRecord(step: trainer.step, kind: "model", values: [
                "parameters": Double(method.model.parameterCount()), "trainable_parameters": Double(method.model.parameterCount(trainableOnly: true)),
                "ranks": Double(communicator.size), "global_batch": Double(config.train.globalBatch)], time: 0))
        }
        trainer.showsProgressBar = communicator.rank == 0 && ProgressBar.isTerminal
        if let stopCheck { trainer.stopCheck = { [unowned trainer] in stopCheck(trainer.step) } } else { StopSignal.install() }
        var selection = Selection(config.eval, restored: restored?.contents.state)
        if communicator.rank == 0, let step = selection.bestStep, store.bestPointer == nil || !store.bestPointer!.hasSuffix(CheckpointStore.fileName(step: step)) {
            // A kill between a checkpoint and its best pointer: the checkpoint says which one is best.
            try? store.markBest(path("checkpoints/" + CheckpointStore.fileName(step: step)))
        }
        var lastSaved: String? = nil
        // Every rank tracks the last saved step (only rank 0 knows the path): ranks must agree on saving.
        var savedStep = restored?.contents.state.step
        /// Writes the checkpoint of this step (rank 0). A failure ends the run, unless `train.onCheckpointError`
        /// is continue and the checkpoint is not `required` (the last one, the one on a stop signal): then a
        /// warning, and the next checkpoint step tries again.
        func save(_ t: Trainer, best: Bool = false, required: Bool = false) throws {
            savedStep = t.step
            let position = loader.samplerState
            let contents = CheckpointContents(
                model: t.method.model.namedState, optimizer: t.optimizer.state,
                state: RunState(step: t.step, epoch: position.epoch, samplesConsumed: position.samplesConsumed, seed: config.seed,
                                worldSize: communicator.size, optimizerStep: t.optimizer.stepCount, stage: t.stageIndex,
                                stageName: plan.stages[t.stageIndex].name, config: resolved, extra: selection.extra))
            if communicator.rank == 0 {
                do {
                    lastSaved = try store.save(contents, step: t.step)
                    if best, let lastSaved { try store.markBest(lastSaved) }
                } catch {
                    guard config.train.onCheckpointError == "continue" && !required else {
                        throw TrainingError("step \(t.step): \(error)" + (required ? "" : " (train.onCheckpointError: continue would train on)"))
                    }
                    let next = config.train.checkpointEvery > 0 ? "the next try is at step \((t.step / config.train.checkpointEvery + 1) * config.train.checkpointEvery)"
                                                                : "the next try is the last step's"
                    writeWarning("warning: step \(t.step): checkpoint failed, training goes on (train.onCheckpointError: continue); "
                                 + "\(next); newest checkpoint: \(store.latestPointer ?? "none"): \(error)")
                }
            }
            try communicator.barrier()
        }
        let evaluationData = evaluationSet(data)
        /// Evaluates, logs the values, and saves a checkpoint of this step (marked best when it is).
        func evaluateAndSelect(_ t: Trainer) throws -> EvaluationReport? {
            guard let evaluationData else { return nil }
            say("evaluating at step \(t.step) on \(evaluationData.indices.count) samples of \(evaluationData.name) ...")
            let report = try evaluate(method, data: data, tokenizer: tokenizer)
            try trainer.metrics?.append(MetricsRecord(step: t.step, kind: "eval", values: report.values, time: t.elapsed))
            let improved = try selection.consider(report, step: t.step, source: file.path)
            if improved || savedStep != t.step { try save(t, best: improved) }
            if improved { say("best \(config.eval.select) so far: \(selection.bestValue!) at step \(t.step)") }
            return report
        }
        let outcome = try trainer.run(loader) { t, stopping in
            let every = config.train.checkpointEvery
            if config.eval.every > 0 && t.step % config.eval.every == 0 && t.step < plan.totalSteps && !stopping {
                _ = try evaluateAndSelect(t)
            }
            if savedStep != t.step && (stopping || (every > 0 && t.step % every == 0) || t.step == plan.totalSteps) {
                try save(t, required: stopping || t.step == plan.totalSteps)
                if stopping { say("stop signal: checkpoint written at step \(t.step); resume with --resume auto") }
            }
        }
        if savedStep != trainer.step { try save(trainer, required: true) }
        if outcome == .finished && communicator.rank == 0 {
            try AtomicFile.write(Array("step \(trainer.step)\n".utf8), to: path(TrainingRun.finishedMarker))
        }
        var evaluation: EvaluationReport? = nil, untrained: EvaluationReport? = nil
        if outcome == .finished, evaluationData != nil {
            evaluation = try evaluateAndSelect(trainer)
            if config.eval.compareUntrained {
                let fresh = try freshMethod(data, tokenizer).method
                try fresh.weightsLoaded()
                untrained = try evaluate(fresh, data: data, tokenizer: tokenizer)
            }
        }
        if communicator.rank == 0 {
            _ = try? Plot.write(runDirectory: runDirectory)
        }
        return Summary(steps: trainer.step, resumedFrom: restored?.path, outcome: outcome, evaluation: evaluation, untrained: untrained,
                       checkpoint: lastSaved ?? store.latestPointer, best: store.bestPointer)
    }

    /// The findings a run trained on, in label-column order: its `classes.txt`, or (runs that predate it)
    /// the training dataset's less `data.holdOutClasses`.
    public static func classNames(runDirectory: String, config: RunConfig) throws -> [String] {
        if let saved = lines(runDirectory, "classes.txt") { return saved }
        let all = config.data.train == "synthetic" ? PhantomFindings.classNames : try ShardDataset(directory: config.data.train).classNames
        return all.filter { !config.data.holdOutClasses.contains($0) }
    }

    /// The findings a run held out of training (`data.holdOutClasses`): its `heldout.txt`, or (runs that
    /// predate it) the config's.
    public static func heldOutClasses(runDirectory: String, config: RunConfig) -> [String] {
        lines(runDirectory, "heldout.txt") ?? config.data.holdOutClasses
    }

    /// The non-empty lines of a file in the run directory, nil when it cannot be read.
    private static func lines(_ runDirectory: String, _ name: String) -> [String]? {
        let path = (runDirectory as NSString).appendingPathComponent(name)
        return (try? String(contentsOfFile: path, encoding: .utf8)).map { $0.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    }

    /// A checkpoint's optimizer tensors for `optimizer`: checkpoints written before per-parameter step
    /// counts existed lack `step`; every parameter then has taken the checkpoint's optimizer steps.
    static func optimizerState(_ stored: [(name: String, tensor: Tensor)], state: RunState, into optimizer: Optimizer) -> [(name: String, tensor: Tensor)] {
        guard !stored.contains(where: { $0.name == "step" }), let wanted = optimizer.state.first(where: { $0.name == "step" }) else { return stored }
        return stored + [("step", Tensor.full(wanted.tensor.shape, Float(state.optimizerStep)))]
    }

    /// The evaluation split (at most `eval.maxSamples`), or nil when it is empty.
    func evaluationSet(_ data: Data) -> EvaluationSet? {
        var indices = data.evaluation
        if config.eval.maxSamples > 0 { indices = Array(indices.prefix(config.eval.maxSamples)) }
        guard !indices.isEmpty else { return nil }
        let dataset = config.data.train == "synthetic" ? "the synthetic phantoms" : config.data.train
        return EvaluationSet(source: data.source, indices: indices, name: "the '\(config.data.evalSplit)' split of \(dataset)")
    }

    /// Every evaluation the method supports on the evaluation split, the linear probe trained on (at most
    /// `eval.probeTrainingSamples` of) the training split.
    func evaluate(_ method: TrainingMethod, data: Data, tokenizer: WordPieceTokenizer) throws -> EvaluationReport {
        guard let set = evaluationSet(data) else { throw TrainingError("no samples to evaluate in '\(config.data.evalSplit)'") }
        let probe = EvaluationSet(source: data.source, indices: Array(data.train.prefix(config.eval.probeTrainingSamples)),
                                  name: "the '\(config.data.trainSplit)' split")
        var settings = EvaluationSettings(config.eval, seed: config.seed)
        settings.heldOutClasses = Set(data.heldOut)
        let evaluation = MethodEvaluation(settings: settings, tokenizer: tokenizer,
                                          contextLength: config.data.contextLength, transform: transform(train: false), workers: config.data.workers,
                                          communicator: communicator)
        var report = try evaluation.run(method, on: set, probe: config.eval.linearProbe ? probe : nil)
        if !config.eval.singleLabelClasses.isEmpty {
            let balanced = try balancedSingleLabelSet(set)
            var only = settings
            (only.linearProbe, only.retrieval, only.objectives, only.heldOutClasses) = (false, false, false, [])
            let single = try MethodEvaluation(settings: only, tokenizer: tokenizer, contextLength: config.data.contextLength,
                                              transform: transform(train: false), workers: config.data.workers, communicator: communicator)
                .run(method, on: balanced, probe: nil)
            for var section in single.sections {
                section.key = "balanced_" + section.key
                section.title += " on \(balanced.name)"
                report.sections.append(section)
            }
        }
        return report
    }

    /// The positions of `source` grouped by study (the `study_id` metadata of `carina prepare`'s MIMIC-CXR
    /// import; a sample without one is a study of its own), in order of each study's first image.
    static func studies(_ source: SampleSource) throws -> [[Int]] {
        var groups: [[Int]] = [], position: [String: Int] = [:]
        for i in 0..<source.count {
            let info = try source.info(at: i)
            guard let id = info.metadata["study_id"] else {
                groups.append([i])
                continue
            }
            let study = (info.patientID ?? "") + "/" + id
            if let g = position[study] { groups[g].append(i) } else {
                position[study] = groups.count
                groups.append([i])
            }
        }
        return groups
    }

    /// `eval.singleLabelClasses`: the samples of `set` (or of `eval.singleLabelSyntheticCount` further
    /// phantoms) with exactly one of those findings present (all of them known), the same number of each
    /// (the first ones in order), over those findings only.
    func balancedSingleLabelSet(_ set: EvaluationSet) throws -> EvaluationSet {
        let wanted = config.eval.singleLabelClasses
        if let unknown = wanted.first(where: { !set.source.classNames.contains($0) }) {
            throw ConfigError("eval.singleLabelClasses names '\(unknown)', which is not a finding of the evaluation data (\(set.source.classNames.joined(separator: ", ")))")
        }
        guard Set(wanted).count == wanted.count, wanted.count >= 2, config.eval.singleLabelPerClass >= 1 else {
            throw ConfigError("eval.singleLabelClasses needs two or more distinct findings and eval.singleLabelPerClass at least 1")
        }
        var pool = set
        let extra = config.eval.singleLabelSyntheticCount
        if extra > 0 {  // checked at start-up: only with synthetic data
            let first = (config.data.syntheticCount + 2) / 3 * 3  // the first index of a patient with no training study
            let phantoms = SyntheticCXR(count: first + extra, seed: config.seed, imageSize: config.data.imageSize)
            pool = EvaluationSet(source: phantoms, indices: Array(first..<(first + extra)), name: "\(extra) further phantoms (never trained on)")
        }
        var byClass = [[Int]](repeating: [], count: wanted.count)
        for index in pool.indices {
            let labels = try pool.source.info(at: index).labels
            let values = wanted.map { labels[$0] }
            guard values.allSatisfy({ $0 == 0 || $0 == 1 }), values.filter({ $0 == 1 }).count == 1 else { continue }
            byClass[values.firstIndex(of: 1)!].append(index)
        }
        let each = min(config.eval.singleLabelPerClass, byClass.map(\.count).min() ?? 0)
        guard each > 0 else {
            throw TrainingError("eval.singleLabelClasses: no sample of \(pool.name) has '\(wanted[byClass.firstIndex { $0.isEmpty } ?? 0])' as its only finding of \(wanted.joined(separator: ", "))")
        }
        let indices = byClass.flatMap { $0.prefix(each) }.sorted()
        return EvaluationSet(source: ClassSubsetSource(pool.source, classNames: wanted), indices: indices,
                             name: "\(each) x \(wanted.count) single-finding samples of \(pool.name)")
    }
}

/// `eval.select`: the best value of a metric so far and its step, carried in every checkpoint (RunState.extra)
/// so a resumed run keeps comparing against it.
struct Selection {
    let metric: String
    let higherIsBetter: Bool
    private(set) var bestValue: Double?
    private(set) var bestStep: Int?

    init(_ eval: EvalConfig, restored: RunState?) {
        metric = eval.select
        higherIsBetter = eval.selectMode != "min"
        if let extra = restored?.extra, extra["select.metric"] == metric {
            bestValue = extra["select.best"].flatMap(Double.init)
            bestStep = extra["select.step"].flatMap(Int.init)
        }
    }

    var isActive: Bool { !metric.isEmpty }

    var extra: [String: String] {
        guard isActive, let bestValue, let bestStep else { return [:] }
        return ["select.metric": metric, "select.best": "\(bestValue)", "select.step": "\(bestStep)"]
    }

    /// Whether `report` is the best so far (recorded if so).
    mutating func consider(_ report: EvaluationReport, step: Int, source: String) throws -> Bool {
        guard isActive else { return false }
        let values = report.values
        guard let value = values[metric] else {
            throw ConfigError("\(source): eval.select names '\(metric)', which this evaluation does not compute; it computes "
                              + values.keys.filter { !$0.contains("_ci_") && $0.split(separator: "/").count == 2 }.sorted().joined(separator: ", "))
        }
        guard value.isFinite else { return false }
        if let bestValue, higherIsBetter ? value <= bestValue : value >= bestValue { return false }
        (bestValue, bestStep) = (value, step)
        return true
    }
}

/// A line on stderr at once (warnings must not wait in stdout's buffer behind progress lines).
func writeWarning(_ line: String) {
    FileHandle.standardError.write(Foundation.Data((line + "\n").utf8))
}
