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
    /// Buckets reduced during backward (true) or all after it (false).
    public var overlap = true

    public init(config: CLIPConfig, localBatch: Int) {
        self.config = config
        self.localBatch = localBatch
    }

    /// ViT-S/16 image tower (width 384, depth 12, 6 heads) beside clip-tiny's report encoder: large enough
    /// (~25 M parameters, ~100 MB of gradients a step at 128 px) that communication matters on a 1–25 Gbit/s link.
    public static var vitSmall: CLIPConfig {
        var c = CLIPConfig()
        c.visionWidth = 384
        c.visionDepth = 12
        c.visionHeads = 6
        return c
    }

    public struct Result: Sendable {
        public let ranks: Int
        public let localBatch: Int
        public let bucketBytes: Int
        public let buckets: Int
        public let overlap: Bool
        /// Bytes of gradients all-reduced per step.
        public let gradientBytes: Int
        /// Median step time of the slowest rank.
        public let stepSeconds: Double
        /// Mean time per step blocked on gradient reductions (slowest rank).
        public let waitSeconds: Double
        /// Median time of the same step without communication, measured alternately with it (slowest rank).
        public let computeSeconds: Double
        /// What communicating added to the step: the step's time beyond its compute alone.
        public var exposedSeconds: Double { max(0, stepSeconds - computeSeconds) }
        public var efficiency: Double { min(1, computeSeconds / stepSeconds) }
        public var samplesPerSecond: Double { Double(ranks * localBatch) / stepSeconds }
        public var waitShare: Double { waitSeconds / stepSeconds }
    }

    /// One model and its data for a series of measurements (different buckets or overlap reuse them).
    public final class Setup {
        let model: CLIPModel
        let images: Tensor
        let ids: IndexTensor

        public init(config: CLIPConfig, localBatch: Int, rank: Int) {
            model = CLIPModel(config: config, seed: 1)
            var rng = RNG(seed: 2, "bench.data", rank)
            images = Tensor.normal([localBatch, config.imageChannels, config.imageSize, config.imageSize], rng: &rng)
            ids = IndexTensor(shape: [localBatch, config.contextLength],
                              values: (0..<(localBatch * config.contextLength)).map { _ in Int32(rng.int(config.vocabSize)) })
        }
    }

    public func run(_ communicator: Communicator) throws -> Result {
        try run(communicator, setup: Setup(config: config, localBatch: localBatch, rank: communicator.rank))
    }

    /// Alternates a data-parallel step with the same step computed alone (no communication: gradients kept
    /// local by `noSync`, the contrastive loss over the local batch only, a B × B instead of a B × nB logit
    /// matrix), so both medians come from the same minutes of a shared, noisy machine.
    public func run(_ communicator: Communicator, setup: Setup) throws -> Result {
        let model = setup.model
        let ddp = try DataParallel(model: model, communicator: communicator, bucketBytes: bucketBytes, overlapsBackward: overlap)
        defer { ddp.detach() }
        let optimizer = AdamW(ddp.parameters, learningRate: 1e-4, weightDecay: 0.1)
        let alone = LocalWorld(size: 1).communicators()[0]
        var times: [Double] = [], computeTimes: [Double] = []
        var waited = 0.0
        for step in 0..<(steps + 1) {
            let before = ddp.communicationWaitSeconds
            let seconds = try Timing.median(warmup: 0, repeats: 1) {
                ddp.zeroGrad()
                try model.loss(images: setup.images, ids: setup.ids, padding: nil, communicator: communicator).backward()
                try ddp.synchronizeGradients()
                try optimizer.step()
            }
            let computeSeconds = try Timing.median(warmup: 0, repeats: 1) {
                ddp.zeroGrad()
                try ddp.noSync { try model.loss(images: setup.images, ids: setup.ids, padding: nil, communicator: alone).backward() }
                try optimizer.step()
            }
            if step > 0 {  // the first step warms buffers up
                times.append(seconds)
                computeTimes.append(computeSeconds)
                waited += ddp.communicationWaitSeconds - before
            }
        }
        times.sort()
        computeTimes.sort()
        var slowest = [times[times.count / 2], waited / Double(steps), computeTimes[computeTimes.count / 2]]
        try slowest.withUnsafeMutableBufferPointer { try communicator.allReduceMax($0) }
        return Result(ranks: communicator.size, localBatch: localBatch, bucketBytes: bucketBytes, buckets: ddp.bucketCount,
                      overlap: overlap, gradientBytes: ddp.gradientCount * MemoryLayout<Float>.stride,
                      stepSeconds: slowest[0], waitSeconds: slowest[1], computeSeconds: slowest[2])
    }

    /// Median seconds of one blocking all-reduce of `bytes` (the whole gradient at once), slowest rank.
    public static func allReduceSeconds(_ communicator: Communicator, bytes: Int, repeats: Int = 3) throws -> Double {
        let buffer = Tensor.full([max(1, bytes / 4)], 1)
        try communicator.barrier()
        let t = try Timing.median(warmup: 1, repeats: repeats) {
            try communicator.allReduceSum(UnsafeMutableBufferPointer(start: buffer.pointer, count: buffer.count))
        }
        var slowest = [t]
        try slowest.withUnsafeMutableBufferPointer { try communicator.allReduceMax($0) }
        return slowest[0]
    }

    public static func describe(_ r: Result) -> String {
        "data-parallel CLIP step: \(r.ranks) rank(s) x local batch \(r.localBatch): \(format(r.stepSeconds * 1e3)) ms/step, "
            + "\(format(r.samplesPerSecond)) samples/s, waiting on communication \(format(r.waitSeconds * 1e3, 2)) ms "
            + "(\(format(100 * r.waitShare)) % of the step)"
    }

    /// The sweep table `carina bench ddp` prints: one row per (overlap, bucket size), each beside the same step
    /// without communication, and the bus bandwidth of one whole-gradient all-reduce (nccl-tests' busbw:
    /// 2(n−1)/n · bytes / time).
    public static func table(_ rows: [Result], allReduceSeconds: Double) -> String {
        guard let first = rows.first else { return "" }
        let n = Double(first.ranks)
        let busbw = 2 * (n - 1) / n * Double(first.gradientBytes) / allReduceSeconds / 1e9
        var t = TextTable(["reduction", "bucket MB", "buckets", "ms/step", "samples/s", "compute alone ms", "waiting ms", "exposed comm ms", "efficiency %"])
        for r in rows {
            t.add([r.overlap ? "overlapped with backward" : "after backward", format(Double(r.bucketBytes) / 1048576, 0), "\(r.buckets)",
                   format(r.stepSeconds * 1e3), format(r.samplesPerSecond), format(r.computeSeconds * 1e3), format(r.waitSeconds * 1e3),
                   format(r.exposedSeconds * 1e3), format(100 * r.efficiency, 0)])
        }
        return "\(first.ranks) ranks x local batch \(first.localBatch); gradients \(format(Double(first.gradientBytes) / 1048576)) MB a step; "
            + "one whole-gradient all-reduce \(format(allReduceSeconds * 1e3)) ms = busbw \(format(busbw, 3)) GB/s\n" + t.rendered
    }
}
