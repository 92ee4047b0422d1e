// The training loop every method shares: stages (what each freezes, its own optimizer and schedule),
// forward/backward on this rank's batch with a step context, data-parallel gradient reduction,
// non-finite checks, clipping, the optimizer step (parameters that got no gradient left untouched),
// BatchNorm statistics kept world-size free, progress lines and metrics, and pre-emption.
// Not for: building data or methods (TrainingRun) or the checkpoint format.
import CarinaData
import CarinaDist
import CarinaModels
import CarinaNN
import Foundation

/// Where batches come from (the prefetching loader in practice): the next batch of this rank and the
/// sampler position of the batch after it, for checkpoints.
public protocol BatchStream: AnyObject {
    func next() throws -> Batch
    var samplerState: SamplerState { get }
}

public struct TrainingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public final class Trainer {
    public enum Outcome: Equatable, Sendable {
        case finished
        /// A SIGTERM/SIGUSR1 arrived; the loop stopped after step `step` (a checkpoint was requested).
        case preempted(signal: Int32)
    }

    public let config: RunConfig
    public let plan: TrainingPlan
    public let method: TrainingMethod
    public let communicator: Communicator
    /// The current stage's data-parallel wrapper and optimizer (a new pair with every stage).
    public private(set) var ddp: DataParallel
    public private(set) var optimizer: Optimizer
    /// The stage the next step runs in (the optimizer's stage).
    public private(set) var stageIndex: Int
    /// Steps completed (the next step to run has this index).
    public private(set) var step: Int
    /// Batches skipped because of a non-finite loss or gradient (with nonFinite: skip).
    public private(set) var skippedSteps = 0
    /// Redraw a progress bar after every step (rank 0 on a terminal).
    public var showsProgressBar = false
    /// Reads this process's pending stop request (SIGTERM/SIGUSR1); tests inject their own.
    public var stopCheck: () -> Int32? = { StopSignal.received }
    /// Rank 0's metrics file (nil on other ranks or when not logging to a directory).
    public let metrics: MetricsLog?
    /// What the method froze for good, before any stage froze more.
    private let methodFreeze: Module.FreezeState
    private let say: (String) -> Void
    private let started = DispatchTime.now().uptimeNanoseconds

    /// `log` receives rank 0's human-readable lines. `plan` defaults to the config's (which then may not
    /// count in epochs). `startStep` is where a resumed run continues. `initialSync` .verify when every
    /// rank loaded the same checkpoint, .broadcast for a fresh start. The method's model must hold its
    /// starting weights; once they agree on every rank the trainer calls `weightsLoaded()`.
    public init(config: RunConfig, method: TrainingMethod, communicator: Communicator, runDirectory: String?, plan: TrainingPlan? = nil,
                startStep: Int = 0, initialSync: DataParallel.InitialSync = .broadcast, log: @escaping (String) -> Void) throws {
        self.config = config
        self.method = method
        self.communicator = communicator
        self.plan = try plan ?? TrainingPlan(config, batchesPerEpoch: nil, method: method)
        guard config.train.globalBatch % communicator.size == 0 else {
            throw ConfigError("train.globalBatch \(config.train.globalBatch) does not split evenly over \(communicator.size) ranks")
        }
        guard ["stop", "skip"].contains(config.train.nonFinite) else {
            throw ConfigError("train.nonFinite must be stop or skip, got '\(config.train.nonFinite)'")
        }
        guard ["sync", "broadcast"].contains(config.train.batchNorm) else {
            throw ConfigError("train.batchNorm must be sync or broadcast, got '\(config.train.batchNorm)'")
        }
        let syncStatistics: CrossReplicaSum? = config.train.batchNorm == "sync" && communicator.size > 1 ? communicator : nil
        for case let bn as BatchNorm in method.model.allModules { bn.sync = syncStatistics }
        for case let block as TransformerBlock in method.model.allModules { block.recomputesActivations = config.train.recomputeActivations }
        methodFreeze = method.model.freezeState
        step = startStep
        stageIndex = self.plan.locate(startStep).index
        (ddp, optimizer) = try Trainer.setUp(stage: self.plan.stages[stageIndex], method: method, communicator: communicator, config: config,
                                             base: methodFreeze, initialSync: initialSync)
        metrics = communicator.rank == 0 ? try runDirectory.map { try MetricsLog(directory: $0) } : nil
        say = communicator.rank == 0 ? log : { _ in }
        // The weights are now the same on every rank: constants the method derives from them agree too.
        try method.weightsLoaded()
        try method.stageStarted(self.plan.info(startStep))
    }

    /// Freezes what `stage` freezes on top of the method's own, and builds its data-parallel wrapper
    /// (replicas checked) and optimizer (each parameter in the method's group).
    private static func setUp(stage: TrainingPlan.Stage, method: TrainingMethod, communicator: Communicator, config: RunConfig,
                              base: Module.FreezeState, initialSync: DataParallel.InitialSync) throws -> (DataParallel, Optimizer) {
        let model = method.model
        model.restore(base, training: true)
        for path in stage.freeze {
            guard let m = model.module(at: path) else {
                throw ConfigError("stage '\(stage.name)' freezes '\(path)', which is not a module of the model; top-level modules: "
                                  + model.namedChildren.map(\.name).joined(separator: ", "))
            }
            m.freeze()
        }
        let ddp = try DataParallel(model: model, communicator: communicator, bucketBytes: config.train.bucketMB << 20,
                                   reduction: .sum, initialSync: initialSync)
        let grouped = ddp.parameters.map { p -> NamedParameter in
            let g = method.parameterGroup(p)
            return NamedParameter(name: p.name, tensor: p.tensor, decays: g.decays, learningRateScale: g.learningRateScale)
        }
        return (ddp, stage.optimizer.make(grouped))
    }

    /// Starts stage `index`: a new optimizer (its state starts empty, as PRIOR's code does at a stage).
    private func enter(stage index: Int) throws {
        ddp.detach()
        (ddp, optimizer) = try Trainer.setUp(stage: plan.stages[index], method: method, communicator: communicator, config: config,
                                             base: methodFreeze, initialSync: .verify)
        stageIndex = index
        let s = plan.stages[index]
        say("stage \(index + 1)/\(plan.stages.count) '\(s.name)' starts at step \(step): \(s.steps) steps, \(ddp.parameters.count) trainable tensors"
            + (s.freeze.isEmpty ? "" : ", frozen: \(s.freeze.joined(separator: ", "))"))
        try method.stageStarted(plan.info(step))
    }

    /// Seconds since this trainer was created.
    public var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }

    /// The learning rate of step `step` (its stage's schedule at its step within the stage).
    public func learningRate(at step: Int) -> Float {
        let (i, s) = plan.locate(step)
        return plan.stages[i].schedule.learningRate(at: s)
    }

    /// The context of the next step for a batch of this rank (ranks hold equal contiguous slices).
    public func context(for batch: Batch) -> StepContext {
        StepContext(step: step, epoch: batch.epoch, stage: plan.info(step), seed: config.seed, communicator: communicator,
                    globalBatch: batch.count * communicator.size, rowOffset: communicator.rank * batch.count)
    }

    public struct Gradients {
        /// This rank's loss and the global one (sum over ranks, each normalised by the global batch).
        public let loss: Float
        public let globalLoss: Float
        public let metrics: [String: Float]
        /// False when the loss was not finite on some rank (no backward was run).
        public let finite: Bool
    }

    /// Forward and backward of the next step on this rank's batch, gradients reduced over ranks (the
    /// stage is entered first when the step starts a new one). The optimizer is not stepped.
    public func gradients(_ batch: Batch) throws -> Gradients {
        let stage = plan.locate(step).index
        if stage != stageIndex { try enter(stage: stage) }
        OpProfile.section("optimizer") { ddp.zeroGrad() }
        let (loss, methodMetrics) = try method.loss(batch, context: context(for: batch))
        var global = [loss.item, loss.item.isFinite ? 0 : 1]
        try OpProfile.section("communication") { try communicator.allReduceSum(&global) }
        guard global[1] == 0 else { return Gradients(loss: loss.item, globalLoss: global[0], metrics: methodMetrics, finite: false) }
        try loss.backward()
        try ddp.synchronizeGradients()
        return Gradients(loss: loss.item, globalLoss: global[0], metrics: methodMetrics, finite: true)
    }

    public struct StepResult: Sendable {
        /// The global loss (sum of the ranks' losses, each normalised by the global batch).
        public let loss: Float
        public let gradientNorm: Float
        public let skipped: Bool
        public let metrics: [String: Float]
    }

    /// One optimizer step on this rank's batch.
    public func trainStep(_ batch: Batch) throws -> StepResult {
        let g = try gradients(batch)
        guard g.finite else { return try nonFinite("loss", globalLoss: g.globalLoss, metrics: g.metrics) }
        // Gradients are identical on every rank after the reduction, so every rank decides alike.
        let norm = OpProfile.section("optimizer") {
            clipGradientNorm(ddp.parameters, maxNorm: config.train.clipGradNorm > 0 ? config.train.clipGradNorm : .infinity)
        }
        if !norm.isFinite {
            return try nonFinite("gradient", globalLoss: g.globalLoss, metrics: g.metrics)
        }
        optimizer.learningRate = learningRate(at: step)
        try OpProfile.section("optimizer") {
            try optimizer.step(active: ddp.receivedGradient)
            method.optimizerStepped()
        }
        // Rank 0's running statistics on every rank (DDP broadcasts them before each forward pass; after
        // the step, ranks also agree whenever they evaluate or save).
        if config.train.batchNorm == "broadcast" { try DataParallel.broadcastBuffers(method.model, communicator: communicator) }
        step += 1
        return StepResult(loss: g.globalLoss, gradientNorm: norm, skipped: false, metrics: g.metrics)
    }

    private func nonFinite(_ what: String, globalLoss: Float, metrics: [String: Float]) throws -> StepResult {
        if config.train.nonFinite == "stop" {
            throw TrainingError("step \(step): the \(what) is not finite (global loss \(globalLoss)); lower train.learningRate, "
                                + "check the data, or set train.nonFinite: skip to skip such batches")
        }
        ddp.zeroGrad()
        skippedSteps += 1
        step += 1
        say("step \(step): skipped the batch: non-finite \(what) (\(skippedSteps) skipped so far)")
        return StepResult(loss: globalLoss, gradientNorm: .nan, skipped: true, metrics: metrics)
    }

    /// Runs steps from `step` to the plan's total. After each step `afterStep` is called (checkpoints,
    /// evaluation); a stop signal received on any rank ends the loop on every rank after the same step.
    public func run(_ data: BatchStream, afterStep: (Trainer, _ stopping: Bool) throws -> Void) throws -> Outcome {
        let total = plan.totalSteps
        var windowStart = DispatchTime.now().uptimeNanoseconds, windowSteps = 0
        while step < total {
            let batch = try data.next()
            let result = try trainStep(batch)
            windowSteps += 1
            var signal = [Int64(stopCheck() ?? 0)]
            try signal.withUnsafeMutableBufferPointer { try communicator.allReduceMax($0) }
            let stopping = signal[0] != 0
            if showsProgressBar { ProgressBar.draw(ProgressBar.line(step: step, totalSteps: total, loss: Double(result.loss))) }
            if step % max(config.train.logEvery, 1) == 0 || step == total || stopping {
                if showsProgressBar { ProgressBar.clear() }
                let now = DispatchTime.now().uptimeNanoseconds
                let seconds = Double(now - windowStart) / 1e9 / Double(max(windowSteps, 1))
                let lr = learningRate(at: step - 1)
                var extra = result.metrics.mapValues(Double.init)
                if plan.stages.count > 1 { extra["stage"] = Double(stageIndex + 1) }
                say(ProgressLine.format(step: step, totalSteps: total, epoch: batch.epoch, loss: Double(result.loss),
                                        learningRate: Double(lr), samplesPerSecond: Double(config.train.globalBatch) / seconds,
                                        secondsPerStep: seconds, extra: extra))
                var values: [String: Double] = ["loss": Double(result.loss), "lr": Double(lr), "grad_norm": Double(result.gradientNorm),
                                                "samples_per_second": Double(config.train.globalBatch) / seconds, "epoch": Double(batch.epoch)]
                for (k, v) in extra { values[k] = v }
                try metrics?.append(MetricsRecord(step: step, kind: "train", values: values, time: elapsed))
                windowStart = now
                windowSteps = 0
            }
            try afterStep(self, stopping)
            if stopping { return .preempted(signal: Int32(signal[0])) }
        }
        return .finished
    }
}
