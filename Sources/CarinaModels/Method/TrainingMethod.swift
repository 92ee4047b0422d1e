// How a method plugs into the shared training loop: it owns its model, turns this rank's batch into a
// loss (normalised by the global batch) plus named metrics, and says what its batches need. The trainer,
// data-parallel wrapper, checkpoints and logs know nothing else about it. Not for: the registry that
// builds methods from configs (CarinaTrain's MethodRegistry).
import CarinaData
import CarinaDist
import CarinaNN

public protocol TrainingMethod: AnyObject {
    /// The module whose parameters train, synchronise and go into checkpoints (frozen parts included).
    var model: Module { get }
    /// Whether batches must carry token ids (reports tokenized to the context length).
    var needsText: Bool { get }
    /// This rank's loss, normalised by the global batch (so per-rank losses sum to the one-process loss),
    /// and scalar metrics to log (already global where they should be).
    func loss(_ batch: Batch, communicator: Communicator) throws -> (loss: Tensor, metrics: [String: Float])
}

/// What a method learns about the run when it is built.
public struct MethodContext: Sendable {
    public var seed: UInt64
    public var imageSize: Int
    public var imageChannels: Int
    public var contextLength: Int
    public var vocabularySize: Int
    public var classNames: [String]

    public init(seed: UInt64, imageSize: Int, imageChannels: Int = 1, contextLength: Int, vocabularySize: Int, classNames: [String]) {
        self.seed = seed
        self.imageSize = imageSize
        self.imageChannels = imageChannels
        self.contextLength = contextLength
        self.vocabularySize = vocabularySize
        self.classNames = classNames
    }
}
