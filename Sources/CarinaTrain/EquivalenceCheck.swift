// The data-parallel equivalence check (DESIGN invariant 1) for any registered method: N ranks with local
// batch b give the loss and gradients of one process with batch N·b. Both sides run the real path — the
// method built from its registration, batches of phantoms from the loader with the method's requirements
// (augmentation, tokens, sentences, masking), the trainer's stages, freezing, SyncBatchNorm and bucketed
// all-reduce. Ranks other than 0 start from another initialisation, so the initial broadcast is covered.
// Run by the tests on in-process ranks and by `carina selftest ddp` under a real mpirun.
import CarinaData
import CarinaDist
import CarinaModels
import CarinaNN
import Foundation

public struct EquivalenceCheck: Sendable {
    public let registration: MethodRegistration
    /// The `model:` section as a JSON object (default: the registration's test model).
    public var model: String
    /// The stages (default: the method's stage names, nothing frozen); each runs one step here.
    public var stages: [StageConfig] = []
    public var globalBatch = 8
    public var imageSize = 16
    public var contextLength = 16
    public var vocabularySize = 120
    /// The stage whose first step is checked (0-based; the method's stage names, one step each).
    public var stage = 0
    /// train.recomputeActivations on both sides.
    public var recomputeActivations = false

    public init(_ registration: MethodRegistration) {
        self.registration = registration
        model = registration.testModel
    }

    public struct Outcome: Sendable {
        /// Sum of the per-rank losses and the one-process loss.
        public let loss: Float
        public let referenceLoss: Float
        /// Largest relative difference ‖g − g_ref‖ / max(‖g_ref‖, 10⁻²‖G_ref‖) over the trainable parameters
        /// (G_ref: the whole one-process gradient), and that parameter.
        public let worstGradient: Float
        public let worstParameter: String
        /// This rank's reduced gradients by parameter name (trainable parameters of the stage).
        public let gradients: [String: [Float]]

        public var lossDifference: Float { abs(loss - referenceLoss) / Swift.max(abs(referenceLoss), 1e-30) }
        public func passes(tolerance: Float = 1e-4) -> Bool { lossDifference <= tolerance && worstGradient <= tolerance }
    }

    /// A trainer for this method on `communicator` at the checked stage's first step, and the tokenizer.
    func trainer(_ communicator: Communicator, seed: UInt64, tokenizer: WordPieceTokenizer, classNames: [String]) throws -> Trainer {
        let context = MethodContext(seed: seed, imageSize: imageSize, contextLength: contextLength, vocabularySize: tokenizer.vocabularySize,
                                    classNames: classNames, tokenizer: tokenizer)
        guard let values = (try? JSONSerialization.jsonObject(with: Data(model.utf8))) as? [String: Any] else {
            throw ConfigError("method '\(registration.name)': its test model is not a JSON object: \(model)")
        }
        let method = try registration.build(ModelSection(values: values, source: "the \(registration.name) test model"), context)
        var config = RunConfig()
        config.method = registration.name
        config.seed = 1
        config.train.globalBatch = globalBatch
        config.train.bucketMB = 0  // a bucket per parameter: the most collectives in flight during backward
        config.train.recomputeActivations = recomputeActivations
        if !stages.isEmpty {
            config.train.stages = stages.map { var s = $0; (s.steps, s.epochs) = (1, 0); return s }
        } else if let names = method.stageNames, names.count > 1 {
            config.train.stages = names.map { var s = StageConfig(config.train, name: $0); s.steps = 1; return s }
        } else {
            config.train.steps = 1
        }
        let plan = try TrainingPlan(config, batchesPerEpoch: nil, method: method, source: "the equivalence check")
        let trainer = try Trainer(config: config, method: method, communicator: communicator, runDirectory: nil, plan: plan,
                                  startStep: plan.stages[Swift.min(stage, plan.stages.count - 1)].first, log: { _ in })
        return trainer
    }

    /// Runs the check on `communicator`'s world.
    public func run(_ communicator: Communicator) throws -> Outcome {
        guard globalBatch % communicator.size == 0 else {
            throw DistError.bufferMismatch(call: "equivalence", detail: "global batch \(globalBatch) does not split over \(communicator.size) ranks")
        }
        let phantoms = SyntheticCXR(count: 4 * globalBatch, seed: 7, imageSize: imageSize)
        let tokenizer = try WordPieceTokenizer(vocabulary: VocabularyBuilder.build(corpus: (0..<phantoms.count).map { phantoms.report(at: $0) },
                                                                                   size: vocabularySize))
        var transform = ImageTransform(size: imageSize, train: true)
        transform.horizontalFlip = 0.5
        let rank = communicator.rank, b = globalBatch / communicator.size
        let indices = Array(0..<globalBatch).map { ($0 * 5 + 3) % phantoms.count }

        func batch(_ trainer: Trainer, rows: Range<Int>) throws -> Batch {
            let wants = trainer.method.requirements
            let text = wants.tokens ? TextPipeline(tokenizer: tokenizer, contextLength: contextLength, requirements: wants,
                                                   augmentation: .subset(keep: 0.75), training: true) : nil
            return try BatchAssembler(source: phantoms, transform: transform, seed: 11, text: text, threads: 1)
                .assemble(indices: Array(indices[rows]), epoch: 1).batch
        }
        let trainer = try trainer(communicator, seed: rank == 0 ? 1 : 100 + UInt64(rank), tokenizer: tokenizer, classNames: phantoms.classNames)
        let mine = try trainer.gradients(batch(trainer, rows: (rank * b)..<((rank + 1) * b)))
        let gradients = trainer.ddp.parameters.map { ($0.name, $0.tensor.grad?.scalars ?? []) }

        let reference = try self.trainer(LocalWorld(size: 1).communicators()[0], seed: 1, tokenizer: tokenizer, classNames: phantoms.classNames)
        let expected = try reference.gradients(batch(reference, rows: 0..<globalBatch))
        let expectedGradients = Dictionary(uniqueKeysWithValues: reference.ddp.parameters.map { ($0.name, $0.tensor.grad?.scalars ?? []) })
        guard Set(expectedGradients.keys) == Set(gradients.map(\.0)) else {
            throw DistError.replicaMismatch("equivalence: the ranks train other parameters than one process does")
        }
        // A parameter whose gradient is a hundredth of the whole or less is measured against a hundredth of
        // the whole gradient's norm, not its own. A bias before a BatchNorm has gradient zero up to Float32
        // rounding at the whole gradient's scale (~1e-7‖G‖, varying with the BLAS kernels); a floor of 10⁻³
        // measured that rounding at 1e-4 and failed on AVX-512 kernels. A wrong reduction of a parameter
        // whose gradient is above 10⁻⁶‖G‖ still exceeds the tolerance.
        let total = expectedGradients.values.reduce(0.0) { sum, g in g.reduce(sum) { $0 + Double($1) * Double($1) } }.squareRoot()
        var worst: (Float, String) = (0, "")
        for (name, g) in gradients {
            var diff = 0.0, norm = 0.0
            for (x, y) in zip(g, expectedGradients[name]!) {
                diff += Double(x - y) * Double(x - y)
                norm += Double(y) * Double(y)
            }
            let relative = Float(diff.squareRoot() / Swift.max(norm.squareRoot(), 1e-2 * total, 1e-30))
            if relative > worst.0 || worst.1.isEmpty { worst = (relative, name) }
        }
        return Outcome(loss: mine.globalLoss, referenceLoss: expected.globalLoss, worstGradient: worst.0, worstParameter: worst.1,
                       gradients: Dictionary(uniqueKeysWithValues: gradients))
    }
}
