// A run's stages laid out in optimizer steps: each stage's length (steps, or epochs of the training split),
// what it freezes, its optimizer and its learning-rate schedule; and which stage a global step falls in,
// so a run resumed in the middle of any stage continues exactly. Not for: running the steps (Trainer).
import CarinaModels
import CarinaNN

public struct TrainingPlan: Sendable {
    public struct Stage: Sendable {
        public let name: String
        /// Global steps first..<first + steps.
        public let first: Int
        public let steps: Int
        public let freeze: [String]
        public let optimizer: OptimizerSettings
        public let schedule: LearningRateSchedule
    }

    public let stages: [Stage]
    /// Steps the run takes (the stages' total, or fewer when cut short with `--steps`).
    public let totalSteps: Int

    /// The plan of `config` for a training split of `batchesPerEpoch` global batches per epoch (nil when
    /// unknown: lengths in epochs are then an error). `stopAfter` cuts a multi-stage run short (a single
    /// stage is shortened instead, its schedule fitted to it).
    public init(_ config: RunConfig, batchesPerEpoch: Int?, method: TrainingMethod? = nil, source: String = "config", stopAfter: Int? = nil) throws {
        var t = config.train
        let single = t.stages.isEmpty
        if single, let stopAfter { (t.steps, t.epochs) = (stopAfter, 0) }
        let configs = single ? [StageConfig(t, name: method?.stageNames?.first ?? "train")] : t.stages
        if let expected = method?.stageNames, configs.map(\.name) != expected, !(single && expected.count == 1) {
            throw ConfigError("\(source): method '\(config.method)' trains in the stages \(expected.joined(separator: ", ")); "
                              + "list them in that order under train.stages (got \(configs.map(\.name).joined(separator: ", ")))")
        }
        if let repeated = configs.map(\.name).first(where: { name in configs.filter { $0.name == name }.count > 1 }) {
            throw ConfigError("\(source): two stages are named '\(repeated)'")
        }
        func inSteps(_ epochs: Float, _ key: String) throws -> Int {
            guard let batchesPerEpoch else { throw ConfigError("\(source): \(key) counts epochs, but the data's epoch length is not known here") }
            return Int((epochs * Float(batchesPerEpoch)).rounded())
        }
        var stages: [Stage] = []
        var first = 0
        for (i, s) in configs.enumerated() {
            let key = single ? "train" : "train.stages.\(i)"
            let steps = s.epochs > 0 ? try inSteps(s.epochs, key + ".epochs") : s.steps
            guard steps > 0 || single else {
                throw ConfigError("\(source): \(key) has no length: set steps or epochs above 0")
            }
            guard let decay = LearningRateSchedule.Decay(rawValue: s.schedule) else {
                throw ConfigError("\(source): \(key).schedule must be \(LearningRateSchedule.Decay.allCases.map(\.rawValue).joined(separator: ", ")), got '\(s.schedule)'")
            }
            guard ["adamw", "sgd"].contains(s.optimizer) else {
                throw ConfigError("\(source): \(key).optimizer must be adamw or sgd, got '\(s.optimizer)'")
            }
            let warmup = s.warmupEpochs > 0 ? try inSteps(s.warmupEpochs, key + ".warmupEpochs") : s.warmupSteps
            let optimizer = OptimizerSettings(kind: s.optimizer, learningRate: s.learningRate, weightDecay: s.weightDecay, beta1: s.beta1,
                                              beta2: s.beta2, eps: s.eps, momentum: s.momentum, dampening: s.dampening, nesterov: s.nesterov)
            stages.append(Stage(name: s.name, first: first, steps: steps, freeze: s.freeze, optimizer: optimizer,
                                schedule: LearningRateSchedule(baseLR: s.learningRate, warmupSteps: warmup, totalSteps: steps, minLR: s.minLearningRate,
                                                               warmupStartLR: s.warmupStartLearningRate, decay: decay)))
            first += steps
        }
        self.stages = stages
        totalSteps = single ? first : Swift.min(first, stopAfter ?? first)
    }

    /// The stage global step `step` belongs to (the last stage for steps past the end) and the step within it.
    public func locate(_ step: Int) -> (index: Int, stageStep: Int) {
        let index = stages.lastIndex { $0.first <= step } ?? 0
        return (index, step - stages[index].first)
    }

    public func info(_ step: Int) -> StageInfo {
        let (i, s) = locate(step)
        return StageInfo(index: i, name: stages[i].name, step: s, steps: stages[i].steps)
    }
}

/// An optimizer as a stage configures it.
public struct OptimizerSettings: Sendable, Equatable {
    public var kind: String
    public var learningRate: Float
    public var weightDecay: Float
    public var beta1: Float
    public var beta2: Float
    public var eps: Float
    public var momentum: Float
    public var dampening: Float
    public var nesterov: Bool

    /// The optimizer over `parameters` (each carrying its group's learning-rate scale and decay flag).
    public func make(_ parameters: [NamedParameter]) -> Optimizer {
        switch kind {
        case "sgd":
            return SGD(parameters, learningRate: learningRate, momentum: momentum, dampening: dampening, nesterov: nesterov, weightDecay: weightDecay)
        default:
            return AdamW(parameters, learningRate: learningRate, betas: (beta1, beta2), eps: eps, weightDecay: weightDecay)
        }
    }
}
