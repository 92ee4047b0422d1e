// A data-parallel CLIP training step (forward, backward with bucketed all-reduce, AdamW) on synthetic
// data: step time, samples/s and the share of the step spent waiting on communication. Every rank calls it.
import CarinaDist
import CarinaModels
import CarinaNN

public struct DataParallelStepBenchmark: Sendable {
    public var config: CLIPConfig
    public var localBatch: Int
    public var steps = 6
    public var bucketBytes = 25 << 20

    public init(config: CLIPConfig, localBatch: Int) {
        self.config = config
        self.localBatch = localBatch
    }

    public struct Result: Sendable {
        public let ranks: Int
        public let localBatch: Int
        /// Median step time of the slowest rank.
        public let stepSeconds: Double
        /// Mean time per step blocked on gradient reductions (slowest rank).
        public let waitSeconds: Double
        public var samplesPerSecond: Double { Double(ranks * localBatch) / stepSeconds }
        public var waitShare: Double { waitSeconds / stepSeconds }
    }

    public func run(_ communicator: Communicator) throws -> Result {
        let model = CLIPModel(config: config, seed: 1)
        let ddp = try DataParallel(model: model, communicator: communicator, bucketBytes: bucketBytes)
        let optimizer = AdamW(ddp.parameters, learningRate: 1e-4, weightDecay: 0.1)
        var rng = RNG(seed: 2, "bench.data", communicator.rank)
        let b = localBatch, t = config.contextLength
        let images = Tensor.normal([b, config.imageChannels, config.imageSize, config.imageSize], rng: &rng)
        let ids = IndexTensor(shape: [b, t], values: (0..<(b * t)).map { _ in Int32(rng.int(config.vocabSize)) })
        var times: [Double] = []
        var waited = 0.0
        for step in 0..<(steps + 1) {
            let before = ddp.communicationWaitSeconds
            let seconds = try Timing.median(warmup: 0, repeats: 1) {
                ddp.zeroGrad()
                try model.loss(images: images, ids: ids, padding: nil, communicator: communicator).backward()
                try ddp.synchronizeGradients()
                try optimizer.step()
            }
            if step > 0 {  // the first step warms buffers up
                times.append(seconds)
                waited += ddp.communicationWaitSeconds - before
            }
        }
        times.sort()
        var slowest = [times[times.count / 2], waited / Double(steps)]
        try slowest.withUnsafeMutableBufferPointer { try communicator.allReduceMax($0) }
        return Result(ranks: communicator.size, localBatch: b, stepSeconds: slowest[0], waitSeconds: slowest[1])
    }

    public static func describe(_ r: Result) -> String {
        "data-parallel CLIP step: \(r.ranks) rank(s) x local batch \(r.localBatch): \(format(r.stepSeconds * 1e3)) ms/step, "
            + "\(format(r.samplesPerSecond)) samples/s, waiting on communication \(format(r.waitSeconds * 1e3, 2)) ms "
            + "(\(format(100 * r.waitShare)) % of the step)"
    }
}
