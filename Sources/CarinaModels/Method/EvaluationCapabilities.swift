// What a method can be evaluated on, declared by conforming to these protocols: evaluation picks its
// protocols by capability, never by method type. Embedding images gives a linear probe; embedding images
// and texts in one space gives retrieval and zero-shot by prompt similarity; scoring (image, class) gives
// per-finding AUC/mAP; scoring (image, text) pairs gives retrieval by a fused matching head.
// Not for: the metrics (CarinaEval) or iterating the data (CarinaTrain's MethodEvaluation).
import CarinaData
import CarinaDist
import CarinaNN

/// Where an evaluation batch sits: this rank's rows of a global evaluation batch.
public struct EvaluationContext: Sendable {
    public let communicator: Communicator
    public let seed: UInt64
    /// Rows of the global evaluation batch over all ranks, and where this rank's start.
    public let globalBatch: Int
    public let rowOffset: Int

    public init(communicator: Communicator, seed: UInt64, globalBatch: Int, rowOffset: Int) {
        self.communicator = communicator
        self.seed = seed
        self.globalBatch = globalBatch
        self.rowOffset = rowOffset
    }
}

/// Image features a linear probe can read findings from. Called in evaluation mode without gradient.
public protocol EmbedsImages: TrainingMethod {
    /// images (B, 1, H, W) -> features (B, D).
    func imageFeatures(_ images: Tensor) throws -> Tensor
}

/// Images and texts embedded into one space (CLIP): retrieval by similarity, zero-shot by prompts.
public protocol EmbedsImagesAndTexts: EmbedsImages {
    /// images (B, 1, H, W) -> L2-normalised embeddings (B, E).
    func imageEmbeddings(_ images: Tensor) throws -> Tensor
    /// Reports or prompts -> L2-normalised embeddings (B, E). The batch carries what the method's
    /// `requirements` ask for beyond ids and padding (sentence ids for a sentence-level encoder such as
    /// PRIOR's; a prompt is then one sentence).
    func textEmbeddings(_ text: TextBatch) throws -> Tensor
    /// The factor on cosine similarities (exp of the learned logit scale).
    var similarityScale: Float { get }
}

/// A logit per (image, class): fine-tuning heads, PsPG's prompts.
public protocol ScoresImageClasses: TrainingMethod {
    /// The class names it can score; nil when any name can be scored (prompted from the name).
    var scorableClasses: [String]? { get }
    /// Whether an image's scores depend on the other images of its batch (PsPG's decoder attends over
    /// the batch). Then evaluation calls `classLogits` on every rank for every global batch, with some
    /// slices possibly empty, and the method gathers what it needs through the context.
    var scoresCoupleBatch: Bool { get }
    /// Logits (B, C) for `classes` (a subset of `scorableClasses` when that is not nil): higher means
    /// more likely present; the probability is the sigmoid.
    func classLogits(_ batch: Batch, classes: [String], context: EvaluationContext) throws -> Tensor
}

extension ScoresImageClasses {
    public var scoresCoupleBatch: Bool { false }
}

/// A method whose training objectives can be measured on held-out data (M3AE: MLM accuracy and loss, MIM
/// loss, ITM accuracy). Evaluation assembles each global evaluation batch as training would (token masks
/// drawn from the evaluation seed at epoch 0, no augmentation), runs it as a world of one with dropout off,
/// and reports Σ sum / Σ count of every term over the set — so the numbers do not depend on the world size.
public protocol MeasuresObjectives: TrainingMethod {
    /// The terms `objectives` reports, in the order the evaluation lists them.
    var objectiveTerms: [String] { get }
    /// Each term's sum and count over `batch` (the whole global batch; `context.communicator` is a world of
    /// one and `context.training` is false), e.g. "mlm_accuracy": (correct, masked tokens).
    func objectives(_ batch: Batch, context: StepContext) throws -> [String: (sum: Double, count: Double)]
    /// One number from the terms' means to select the best checkpoint by (higher is better): M3AE's
    /// MLM accuracy + ITM accuracy − MIM loss. nil: none.
    func objectiveScore(_ means: [String: Double]) -> Double?
}

/// A matching logit per (image, text) pair from a fused model (M3AE's image-text matching head).
public protocol ScoresImageTextPairs: TrainingMethod {
    /// images (B, 1, H, W) with ids, padding (B, T): row i of each is one pair -> logits (B).
    func pairLogits(images: Tensor, ids: IndexTensor, padding: Tensor) throws -> Tensor
}
