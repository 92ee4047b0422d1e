// What a checkpoint holds: named tensors by group (the model's parameters and buffers, the optimizer's
// state) and the run's state (step, sampler position, seed, world size, resolved config). Not for: the file
// format (CheckpointFile) or the directory of checkpoints (CheckpointStore).
import CarinaTensor

public struct RunState: Codable, Sendable, Equatable {
    public var step: Int
    public var epoch: Int
    /// Sampler position: global samples of `epoch` consumed (world-size free).
    public var samplesConsumed: Int
    public var seed: UInt64
    public var worldSize: Int
    public var optimizerStep: Int
    /// The training stage of the last completed step (0-based, and its name): the stage whose optimizer
    /// state the checkpoint holds. Checkpoints written before stages existed read as stage 0, "train".
    public var stage: Int
    public var stageName: String
    /// The resolved config (YAML) the run used.
    public var config: String
    public var carinaVersion: String
    /// Method-specific scalars (e.g. the vocabulary file's hash).
    public var extra: [String: String]

    public init(step: Int, epoch: Int, samplesConsumed: Int, seed: UInt64, worldSize: Int, optimizerStep: Int, stage: Int = 0,
                stageName: String = "train", config: String, carinaVersion: String = Carina.version, extra: [String: String] = [:]) {
        self.step = step
        self.epoch = epoch
        self.samplesConsumed = samplesConsumed
        self.seed = seed
        self.worldSize = worldSize
        self.optimizerStep = optimizerStep
        self.stage = stage
        self.stageName = stageName
        self.config = config
        self.carinaVersion = carinaVersion
        self.extra = extra
    }

    enum CodingKeys: String, CodingKey {
        case step, epoch, samplesConsumed, seed, worldSize, optimizerStep, stage, stageName, config, carinaVersion, extra
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decode(Int.self, forKey: .step)
        epoch = try c.decode(Int.self, forKey: .epoch)
        samplesConsumed = try c.decode(Int.self, forKey: .samplesConsumed)
        seed = try c.decode(UInt64.self, forKey: .seed)
        worldSize = try c.decode(Int.self, forKey: .worldSize)
        optimizerStep = try c.decode(Int.self, forKey: .optimizerStep)
        stage = try c.decodeIfPresent(Int.self, forKey: .stage) ?? 0
        stageName = try c.decodeIfPresent(String.self, forKey: .stageName) ?? "train"
        config = try c.decode(String.self, forKey: .config)
        carinaVersion = try c.decode(String.self, forKey: .carinaVersion)
        extra = try c.decode([String: String].self, forKey: .extra)
    }
}

public enum Carina {
    public static let version = "0.1.0"
}

/// Everything a run needs to continue: named tensors by group plus the run's state.
public struct CheckpointContents {
    /// Parameters then buffers, with their dotted names (`text.encoder.blocks.0.attn.qkv.weight`).
    public var model: [(name: String, tensor: Tensor)]
    /// The optimizer's state, e.g. `exp_avg.<parameter>` and `exp_avg_sq.<parameter>` for AdamW.
    public var optimizer: [(name: String, tensor: Tensor)]
    public var state: RunState

    public init(model: [(name: String, tensor: Tensor)], optimizer: [(name: String, tensor: Tensor)], state: RunState) {
        self.model = model
        self.optimizer = optimizer
        self.state = state
    }
}
