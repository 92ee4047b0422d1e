// `carina eval`: a trained run's model evaluated on any prepared dataset — zero-shot, linear probe at label
// fractions, retrieval where the samples have reports — beside the same model untrained. The transfer
// setting of the papers: pretrain on one dataset's image-report pairs, probe on another's labels.
// Not for: training (TrainingRun).
import CarinaCheckpoint
import CarinaData
import CarinaDist
import CarinaModels
import Foundation

public struct EvaluationRun {
    public let runDirectory: String
    public let communicator: Communicator

    public init(runDirectory: String, communicator: Communicator) {
        self.runDirectory = runDirectory
        self.communicator = communicator
    }

    /// Evaluates the run's newest valid checkpoint on `dataset` (a shard directory): probes train on up to
    /// `maxProbeTraining` samples of `trainSplit` and everything is measured on `evalSplit`.
    public func run(dataset: String, trainSplit: String = "train", evalSplit: String = "test", fractions: [Float] = [0.01, 0.1, 1],
                    maxProbeTraining: Int = 5000, compareUntrained: Bool = true) throws -> (trained: [String: Double], untrained: [String: Double]) {
        let file = try RunConfigFile(path: (runDirectory as NSString).appendingPathComponent("config.yaml"))
        let tokenizer = try WordPieceTokenizer(vocabularyFile: (runDirectory as NSString).appendingPathComponent("vocab.txt"))
        let shards = try ShardDataset(directory: dataset)
        let evaluation = shards.indices(split: evalSplit), training = Array(shards.indices(split: trainSplit).prefix(maxProbeTraining))
        guard !evaluation.isEmpty else {
            throw ConfigError("\(dataset): no samples in split '\(evalSplit)' (splits: \(shards.manifest.splits.keys.sorted().joined(separator: ", ")))")
        }
        func build() throws -> CLIPMethod {
            guard let clip = try file.buildMethod(classNames: shards.classNames, vocabularySize: tokenizer.vocabularySize).method as? CLIPMethod else {
                throw ConfigError("\(runDirectory): carina eval evaluates contrastive (clip) runs; this run trained '\(file.run.method)'")
            }
            return clip
        }
        let trained = try build()
        let store = try CheckpointStore(directory: (runDirectory as NSString).appendingPathComponent("checkpoints"))
        guard let found = store.latestValid() else { throw ConfigError("\(runDirectory): no checkpoint verifies") }
        try CheckpointFile.load(found.contents.model, into: trained.model.namedParameters.map { (name: $0.name, tensor: $0.tensor) } + trained.model.namedBuffers,
                                path: found.path, group: "model")
        var settings = ContrastiveEvaluation(classNames: shards.classNames)
        (settings.probeFractions, settings.seed) = (fractions, file.run.seed)
        var transform = ImageTransform(size: file.run.data.imageSize, train: false)
        (transform.mean, transform.std) = (file.run.data.mean, file.run.data.std)
        func evaluate(_ m: CLIPMethod) throws -> [String: Double] {
            try settings.evaluate(m.clip, source: shards, evaluation: evaluation, probeTraining: training, tokenizer: tokenizer,
                                  contextLength: file.run.data.contextLength, transform: transform, workers: file.run.data.workers,
                                  communicator: communicator)
        }
        return (try evaluate(trained), compareUntrained ? try evaluate(try build()) : [:])
    }
}
