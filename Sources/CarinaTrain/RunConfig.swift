// The method-independent part of a run's YAML config: data, optimisation, checkpoints, logging and
// evaluation. Every key is documented here; the method's own `model:` section is decoded by the method.
// Keys are camelCase, as the YAML files in configs/ spell them.

public struct RunConfig: Codable, Sendable, Equatable {
    /// Which method trains: clip (more arrive with their issues).
    public var method = "clip"
    /// Seeds model initialisation, data order, augmentation and masking.
    public var seed: UInt64 = 1
    public var data = DataConfig()
    public var train = TrainConfig()
    public var eval = EvalConfig()

    public init() {}
}

public struct DataConfig: Codable, Sendable, Equatable {
    /// A shard directory written by `carina prepare` or `carina synth`, or "synthetic" for phantoms
    /// generated on the fly (`syntheticCount` of them).
    public var train = "synthetic"
    public var syntheticCount = 4096
    /// Split names in the dataset manifest used for training and for evaluation.
    public var trainSplit = "train"
    public var evalSplit = "valid"
    /// Square input size in pixels (images are resized; augmentation crops back to it).
    public var imageSize = 128
    /// Report tokens per sample, [CLS] and [SEP] included.
    public var contextLength = 64
    /// A BERT-format vocab.txt; "" builds one from the training reports (`vocabularySize` entries) and
    /// saves it in the run directory.
    public var vocabulary = ""
    public var vocabularySize = 8192
    /// Train-time augmentation: random resized crop (scale from cropScaleMin to 1), rotation (degrees),
    /// translation (fraction of the size), brightness and contrast jitter (fractions).
    public var augment = true
    public var cropScaleMin: Float = 0.8
    public var rotationDegrees: Float = 5
    public var translate: Float = 0.05
    public var brightness: Float = 0.1
    public var contrast: Float = 0.1
    /// Train-time text augmentation: "none" (the whole report), "sentence" (one random sentence of
    /// FINDINGS + IMPRESSION per step, as ConVIRT), or "subset" (each sentence kept with probability
    /// `sentenceKeep`, at least one). Evaluation always reads whole reports.
    public var textAugment = "none"
    public var sentenceKeep: Float = 0.5
    /// Pixel normalisation after scaling to [0, 1].
    public var mean: Float = 0.5
    public var std: Float = 0.25
    /// Loader threads and batches decoded ahead.
    public var workers = 2
    public var prefetch = 4
    /// Skip (and count) samples that fail to load instead of stopping.
    public var skipBadSamples = false

    public init() {}
}

public struct TrainConfig: Codable, Sendable, Equatable {
    /// Samples per optimizer step over all ranks (each rank takes globalBatch / ranks).
    public var globalBatch = 64
    /// Optimizer steps in total.
    public var steps = 1000
    /// adamw or sgd.
    public var optimizer = "adamw"
    public var learningRate: Float = 5e-4
    public var weightDecay: Float = 0.1
    public var beta1: Float = 0.9
    public var beta2: Float = 0.98
    public var eps: Float = 1e-6
    /// SGD momentum.
    public var momentum: Float = 0.9
    /// Linear warm-up steps, then cosine decay to minLearningRate.
    public var warmupSteps = 100
    public var minLearningRate: Float = 0
    /// Clip gradients to this global L2 norm; 0 turns clipping off.
    public var clipGradNorm: Float = 1
    /// A non-finite loss or gradient: "stop" (with a message naming the step) or "skip" the batch.
    public var nonFinite = "stop"
    /// Progress line every logEvery steps (rank 0).
    public var logEvery = 10
    /// Checkpoint every checkpointEvery steps (and at the end, and on SIGTERM/SIGUSR1); 0 = only then.
    public var checkpointEvery = 200
    /// Keep the newest keepCheckpoints checkpoints, plus every keepEvery-th step (0 = none).
    public var keepCheckpoints = 3
    public var keepEvery = 0
    /// Gradient bucket size for the all-reduce, MB.
    public var bucketMB = 25

    public init() {}
}

public struct EvalConfig: Codable, Sendable, Equatable {
    /// Evaluate every `every` steps (0 = only at the end).
    public var every = 0
    /// Samples of the evaluation split to use (0 = all).
    public var maxSamples = 0
    public var zeroShot = true
    public var linearProbe = true
    public var retrieval = true
    /// Also evaluate the untrained model (same initialisation) for comparison: what pretraining adds
    /// over a randomly initialised encoder.
    public var compareUntrained = true
    /// Fractions of the labelled training features the linear probe trains on.
    public var probeFractions: [Float] = [0.01, 0.1, 1]

    public init() {}
}
