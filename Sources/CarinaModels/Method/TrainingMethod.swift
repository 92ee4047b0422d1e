// How a method plugs into the shared training loop: it owns its model, says what its batches must carry,
// how its parameters are optimised (groups, stages), where initial weights come from, and turns this
// rank's batch plus a step context into a loss (normalised by the global batch) and named metrics. What it
// can be evaluated on is declared by conforming to the capability protocols (EvaluationCapabilities.swift).
// The trainer, data-parallel wrapper, checkpoints, evaluation and logs know nothing else about a method.
// Not for: building methods from configs (MethodRegistration) or the training loop (CarinaTrain).
import CarinaData
import CarinaDist
import CarinaNN

public protocol TrainingMethod: AnyObject {
    /// The module whose parameters train, synchronise and go into checkpoints (frozen parts included).
    var model: Module { get }
    /// What training batches must carry beyond images and labels (default: nothing more).
    var requirements: BatchRequirements { get }
    /// The optimiser settings of one parameter: learning-rate factor and weight decay (default: 1x, and
    /// decay for matrices that are not embeddings or tokens, `NamedParameter.decays`).
    func parameterGroup(_ parameter: NamedParameter) -> ParameterGroup
    /// The stage names this method understands, in order (nil: any single stage). A config's
    /// `train.stages` must name exactly these; the step context says which one is running.
    var stageNames: [String]? { get }
    /// Called when a stage starts (fresh or on resume), after the trainer froze what the stage freezes.
    func stageStarted(_ stage: StageInfo) throws
    /// Weights to load into the model before the first step of a fresh run (not on resume: the checkpoint
    /// holds them).
    var weightSources: [WeightSource] { get }
    /// Called once the model holds its starting weights (initialised, loaded from weight sources, or
    /// resumed) and they agree on every rank: compute constants from them (PsPG's class-name features from
    /// the loaded text tower). The trainer calls it; so does evaluation of a model without a trainer.
    func weightsLoaded() throws
    /// This rank's loss, normalised by the global batch (so per-rank losses sum to the one-process loss),
    /// and scalar metrics to log (already global where they should be).
    func loss(_ batch: Batch, context: StepContext) throws -> (loss: Tensor, metrics: [String: Float])
    /// Called after each optimizer step (CLIP clamps its logit scale to [0, ln 100] here, as open_clip).
    func optimizerStepped()
    /// The vocabulary and context length this method reads text with when it brings its own: a method on
    /// another run's text tower reads with that run's (PsPG with its CLIP's). nil: the run's.
    var textEncoding: TextEncoding? { get }
}

/// How texts become token ids for a text tower.
public struct TextEncoding: Sendable {
    /// WordPiece for Carina's and BERT's towers; CLIP's byte-level BPE for a CLIP text tower from hf:.
    public let tokenizer: any TextTokenizer
    public let contextLength: Int

    public init(tokenizer: any TextTokenizer, contextLength: Int) {
        self.tokenizer = tokenizer
        self.contextLength = contextLength
    }
}

extension TrainingMethod {
    public var requirements: BatchRequirements { .images }
    public func parameterGroup(_ parameter: NamedParameter) -> ParameterGroup { ParameterGroup(decays: parameter.decays) }
    public var stageNames: [String]? { nil }
    public func stageStarted(_ stage: StageInfo) throws {}
    public var weightSources: [WeightSource] { [] }
    public func weightsLoaded() throws {}
    public func optimizerStepped() {}
    public var textEncoding: TextEncoding? { nil }
}

/// The optimiser settings of a parameter.
public struct ParameterGroup: Sendable, Equatable {
    /// Factor on the stage's learning rate (M3AE: 5 for heads and fusion).
    public var learningRateScale: Float
    /// Whether decoupled weight decay applies (PRIOR decays everything; PsPG only tensors of 2+ axes).
    public var decays: Bool

    public init(learningRateScale: Float = 1, decays: Bool) {
        self.learningRateScale = learningRateScale
        self.decays = decays
    }
}

/// Which stage of training is running.
public struct StageInfo: Sendable, Equatable {
    /// 0-based position in the config's stage list, and its name ("train" when the config has none).
    public let index: Int
    public let name: String
    /// The step within the stage (0-based) and the stage's length in steps.
    public let step: Int
    public let steps: Int

    public init(index: Int, name: String, step: Int, steps: Int) {
        self.index = index
        self.name = name
        self.step = step
        self.steps = steps
    }
}

/// What a loss needs to know about the step besides the batch: where it is in the run, and where this
/// rank's rows sit in the global batch, so per-step randomness (dropout, ITM negatives, Gumbel noise) is
/// drawn by (seed, step, sample) — never by rank — and batch-coupled terms gather from every rank.
public struct StepContext: Sendable {
    /// The optimizer step being computed (0-based over the whole run) and the data epoch.
    public let step: Int
    public let epoch: Int
    public let stage: StageInfo
    public let seed: UInt64
    public let communicator: Communicator
    /// Rows over all ranks, and where this rank's rows start among them (ranks hold contiguous slices).
    public let globalBatch: Int
    public let rowOffset: Int
    /// False when a loss is computed for evaluation (no masking randomness needed, dropout off).
    public let training: Bool

    public init(step: Int, epoch: Int, stage: StageInfo, seed: UInt64, communicator: Communicator, globalBatch: Int, rowOffset: Int,
                training: Bool = true) {
        self.step = step
        self.epoch = epoch
        self.stage = stage
        self.seed = seed
        self.communicator = communicator
        self.globalBatch = globalBatch
        self.rowOffset = rowOffset
        self.training = training
    }

    /// The sum of `value` over every rank (a global count to normalise by).
    public func globalSum(_ value: Float) throws -> Float {
        var v = [value]
        try communicator.allReduceSum(&v)
        return v[0]
    }
}

/// What a method learns about the run when it is built.
public struct MethodContext: Sendable {
    public var seed: UInt64
    public var imageSize: Int
    public var imageChannels: Int
    public var contextLength: Int
    public var vocabularySize: Int
    /// The dataset's findings, in the order of a batch's label columns.
    public var classNames: [String]
    /// The run's tokenizer (nil when the method is built without data, e.g. `carina model describe`).
    public var tokenizer: WordPieceTokenizer?
    /// Reads another run that this method builds on (a run directory or checkpoint file; PsPG's CLIP): its
    /// method, model config and vocabulary. nil where no files can be read.
    public var readRun: (@Sendable (_ path: String) throws -> SourceRun)?

    public init(seed: UInt64, imageSize: Int, imageChannels: Int = 1, contextLength: Int, vocabularySize: Int, classNames: [String],
                tokenizer: WordPieceTokenizer? = nil) {
        self.seed = seed
        self.imageSize = imageSize
        self.imageChannels = imageChannels
        self.contextLength = contextLength
        self.vocabularySize = vocabularySize
        self.classNames = classNames
        self.tokenizer = tokenizer
    }
}
