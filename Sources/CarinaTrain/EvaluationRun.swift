// `carina eval`: a trained run's model evaluated on any prepared dataset by every capability its method
// declares — zero-shot, linear probe at label fractions (trained on that dataset or on another one, the
// transfer protocol of the papers: a probe for CheXpert's labels on a MIMIC-pretrained model), the
// method's own classifier, retrieval — beside the same model as it started. Not for: training (TrainingRun).
import CarinaCheckpoint
import CarinaData
import CarinaDist
import CarinaModels
import CarinaNN
import Foundation

public struct EvaluationRun {
    public let runDirectory: String
    public let communicator: Communicator

    public init(runDirectory: String, communicator: Communicator) {
        self.runDirectory = runDirectory
        self.communicator = communicator
    }

    public struct Options: Sendable {
        /// A shard directory and the split evaluated.
        public var dataset: String
        public var split = "test"
        /// The shard directory and split the linear probe trains on (default: `dataset`).
        public var probeDataset: String? = nil
        public var probeSplit = "train"
        public var fractions: [Float] = [0.01, 0.1, 1]
        /// "latest" (the newest checkpoint that verifies), "best", or a checkpoint file.
        public var checkpoint = "latest"
        public var compareUntrained = true
        /// Bootstrap resamples (nil: the run's eval.bootstrap).
        public var bootstrap: Int? = nil

        public init(dataset: String) { self.dataset = dataset }
    }

    public struct Result: Sendable {
        public let checkpoint: String
        public let trained: EvaluationReport
        public let untrained: EvaluationReport?
        /// Why the untrained comparison is missing, when it is.
        public let notes: [String]
    }

    func path(_ name: String) -> String { (runDirectory as NSString).appendingPathComponent(name) }

    public func run(_ options: Options) throws -> Result {
        let file = try RunConfigFile(path: path("config.yaml"))
        let config = file.run
        let vocabulary = config.data.vocabulary.isEmpty ? path("vocab.txt") : config.data.vocabulary
        let tokenizer = try WordPieceTokenizer(vocabularyFile: vocabulary)
        let shards = try ShardDataset(directory: options.dataset, maxImagePixels: config.data.maxImagePixels)
        let evaluation = shards.indices(split: options.split)
        guard !evaluation.isEmpty else {
            throw ConfigError("\(options.dataset): no samples in split '\(options.split)' (splits: \(shards.manifest.splits.keys.sorted().joined(separator: ", ")))")
        }
        let probeShards = try options.probeDataset.map { try ShardDataset(directory: $0, maxImagePixels: config.data.maxImagePixels) } ?? shards
        let probeIndices = Array(probeShards.indices(split: options.probeSplit).prefix(config.eval.probeTrainingSamples))
        guard !probeIndices.isEmpty else {
            throw ConfigError("\(options.probeDataset ?? options.dataset): no samples in split '\(options.probeSplit)' to train the linear probe on "
                              + "(splits: \(probeShards.manifest.splits.keys.sorted().joined(separator: ", ")))")
        }
        // The method as it was trained: its classes are the training data's, not the evaluated dataset's.
        let classNames = try TrainingRun.classNames(runDirectory: runDirectory, config: config)
        func build() throws -> TrainingMethod {
            try file.buildMethod(classNames: classNames, vocabularySize: tokenizer.vocabularySize, tokenizer: tokenizer).method
        }
        let trained = try build()
        // Names and shapes are compared with the file's manifest before anything is decompressed.
        let expected = trained.model.namedState.map { (name: $0.name, shape: $0.tensor.shape) }
        let (checkpoint, stored): (String, [(name: String, tensor: Tensor)])
        switch options.checkpoint {
        case "latest":
            guard let found = try CheckpointStore(directory: path("checkpoints")).latestValid(expecting: expected) else {
                throw ConfigError("\(runDirectory): no checkpoint verifies")
            }
            (checkpoint, stored) = (found.path, found.contents.model)
        case "best":
            guard let best = try CheckpointStore(directory: path("checkpoints")).bestPointer else {
                throw ConfigError("\(runDirectory): no best checkpoint (the run did not set eval.select)")
            }
            (checkpoint, stored) = (best, try CheckpointFile.read(best, groups: ["model"], expecting: expected).model)
        default:
            let file = try CheckpointStore.resolve(options.checkpoint)
            (checkpoint, stored) = (file, try CheckpointFile.read(file, groups: ["model"], expecting: expected).model)
        }
        try CheckpointFile.load(stored, into: trained.model.namedState, path: checkpoint, group: "model")
        try trained.weightsLoaded()

        // Everything the method supports, whatever the run evaluated while training.
        var settings = EvaluationSettings(config.eval, seed: config.seed)
        (settings.zeroShot, settings.linearProbe, settings.retrieval, settings.classifier) = (true, true, true, true)
        settings.probeFractions = options.fractions
        if let b = options.bootstrap { settings.bootstrap = b }
        settings.heldOutClasses = Set(TrainingRun.heldOutClasses(runDirectory: runDirectory, config: config))
        let runner = MethodEvaluation(settings: settings, tokenizer: tokenizer, contextLength: config.data.contextLength,
                                      transform: config.data.transform(train: false), workers: config.data.workers, communicator: communicator)
        let set = EvaluationSet(source: shards, indices: evaluation, name: "the '\(options.split)' split of \(options.dataset)")
        let probe = EvaluationSet(source: probeShards, indices: probeIndices, name: "the '\(options.probeSplit)' split of \(options.probeDataset ?? options.dataset)")
        let report = try runner.run(trained, on: set, probe: probe)
        var notes: [String] = []
        var untrained: EvaluationReport? = nil
        if options.compareUntrained {
            let fresh = try build()
            do {
                _ = try WeightLoader.load(fresh.weightSources, into: fresh.model)
                try fresh.weightsLoaded()
                untrained = try runner.run(fresh, on: set, probe: probe)
            } catch let error as ConfigError {
                notes.append("no untrained comparison: its starting weights cannot be loaded here (\(error))")
            } catch let error as CheckpointError {
                notes.append("no untrained comparison: its starting weights cannot be loaded here (\(error))")
            }
        }
        return Result(checkpoint: checkpoint, trained: report, untrained: untrained, notes: notes)
    }
}
