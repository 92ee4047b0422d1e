// The training loop every method shares: learning-rate schedule, forward/backward on this rank's batch,
// data-parallel gradient reduction, non-finite checks, clipping, the optimizer step, progress lines and
// metrics, and pre-emption. Not for: building data or methods (RunBuilder) or the checkpoint format.
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
    public let method: TrainingMethod
    public let communicator: Communicator
    public let ddp: DataParallel
    public let optimizer: Optimizer
    public let schedule: WarmupCosine
    /// Steps completed (the next step to run has this index).
    public internal(set) var step = 0
    /// Batches skipped because of a non-finite loss or gradient (with nonFinite: skip).
    public private(set) var skippedSteps = 0
    /// Redraw a progress bar after every step (rank 0 on a terminal).
    public var showsProgressBar = false
    /// Reads this process's pending stop request (SIGTERM/SIGUSR1); tests inject their own.
    public var stopCheck: () -> Int32? = { StopSignal.received }
    /// Rank 0's metrics file (nil on other ranks or when not logging to a directory).
    public let metrics: MetricsLog?
    private let say: (String) -> Void
    private let started = DispatchTime.now().uptimeNanoseconds

    /// `log` receives rank 0's human-readable lines. `initialSync` .verify when every rank loaded the same
    /// checkpoint, .broadcast for a fresh start.
    public init(config: RunConfig, method: TrainingMethod, communicator: Communicator, runDirectory: String?,
                initialSync: DataParallel.InitialSync = .broadcast, log: @escaping (String) -> Void) throws {
        self.config = config
        self.method = method
        self.communicator = communicator
        guard config.train.globalBatch % communicator.size == 0 else {
            throw ConfigError("train.globalBatch \(config.train.globalBatch) does not split evenly over \(communicator.size) ranks")
        }
        ddp = try DataParallel(model: method.model, communicator: communicator, bucketBytes: config.train.bucketMB << 20,
                               reduction: .sum, initialSync: initialSync)
        let t = config.train
        switch t.optimizer {
        case "adamw":
            optimizer = AdamW(ddp.parameters, learningRate: t.learningRate, betas: (t.beta1, t.beta2), eps: t.eps, weightDecay: t.weightDecay)
        case "sgd":
            optimizer = SGD(ddp.parameters, learningRate: t.learningRate, momentum: t.momentum, weightDecay: t.weightDecay)
        default:
            throw ConfigError("train.optimizer must be adamw or sgd, got '\(t.optimizer)'")
        }
        guard ["stop", "skip"].contains(t.nonFinite) else {
            throw ConfigError("train.nonFinite must be stop or skip, got '\(t.nonFinite)'")
        }
        schedule = WarmupCosine(baseLR: t.learningRate, warmupSteps: t.warmupSteps, totalSteps: t.steps, minLR: t.minLearningRate)
        metrics = communicator.rank == 0 ? try runDirectory.map { try MetricsLog(directory: $0) } : nil
        say = communicator.rank == 0 ? log : { _ in }
    }

    /// Seconds since this trainer was created.
    public var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }

    public struct StepResult: Sendable {
        /// The global loss (sum of the ranks' losses, each normalised by the global batch).
        public let loss: Float
        public let gradientNorm: Float
        public let skipped: Bool
        public let metrics: [String: Float]
    }

    /// One optimizer step on this rank's batch.
    public func trainStep(_ batch: Batch) throws -> StepResult {
        optimizer.learningRate = schedule.learningRate(at: step)
        ddp.zeroGrad()
        let (loss, methodMetrics) = try method.loss(batch, communicator: communicator)
        var global = [loss.item, loss.item.isFinite ? 0 : 1]
        try communicator.allReduceSum(&global)
        if global[1] > 0 {
            return try nonFinite("loss", globalLoss: global[0], metrics: methodMetrics)
        }
        try loss.backward()
        try ddp.synchronizeGradients()
        // Gradients are identical on every rank after the reduction, so every rank decides alike.
        let norm = config.train.clipGradNorm > 0
            ? clipGradientNorm(ddp.parameters, maxNorm: config.train.clipGradNorm)
            : clipGradientNorm(ddp.parameters, maxNorm: .infinity)
        if !norm.isFinite {
            return try nonFinite("gradient", globalLoss: global[0], metrics: methodMetrics)
        }
        try optimizer.step()
        step += 1
        return StepResult(loss: global[0], gradientNorm: norm, skipped: false, metrics: methodMetrics)
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

    /// Runs steps from `step` to `config.train.steps`. After each step `afterStep` is called (checkpoints,
    /// evaluation); a stop signal received on any rank ends the loop on every rank after the same step.
    public func run(_ data: BatchStream, afterStep: (Trainer, _ stopping: Bool) throws -> Void) throws -> Outcome {
        let total = config.train.steps
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
                let lr = schedule.learningRate(at: step - 1)
                say(ProgressLine.format(step: step, totalSteps: total, epoch: batch.epoch, loss: Double(result.loss),
                                        learningRate: Double(lr), samplesPerSecond: Double(config.train.globalBatch) / seconds,
                                        secondsPerStep: seconds, extra: result.metrics.mapValues(Double.init)))
                var values: [String: Double] = ["loss": Double(result.loss), "lr": Double(lr), "grad_norm": Double(result.gradientNorm),
                                                "samples_per_second": Double(config.train.globalBatch) / seconds, "epoch": Double(batch.epoch)]
                for (k, v) in result.metrics { values[k] = Double(v) }
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
