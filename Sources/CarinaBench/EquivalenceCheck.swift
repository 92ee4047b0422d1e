// The data-parallel equivalence check (DESIGN invariant 1): N ranks with local batch b must give the loss
// and gradients of one process with batch N·b, here for the CLIP model with InfoNCE over global
// negatives. Run in tests on in-process ranks and by `carina selftest ddp` under a real mpirun.
import CarinaDist
import CarinaModels
import CarinaNN

public struct EquivalenceCheck: Sendable {
    public var config = CLIPConfig.test
    public var globalBatch = 8
    public var tokens = 6

    public init() {}

    public struct Outcome: Sendable {
        /// Sum of the per-rank losses and the one-process loss.
        public let loss: Float
        public let referenceLoss: Float
        /// Largest relative difference ‖g − g_ref‖ / ‖g_ref‖ over all parameters, and that parameter.
        public let worstGradient: Float
        public let worstParameter: String
        /// This rank's reduced gradients by parameter name.
        public let gradients: [String: [Float]]

        public var lossDifference: Float { abs(loss - referenceLoss) / Swift.max(abs(referenceLoss), 1e-30) }
        public func passes(tolerance: Float = 1e-5) -> Bool { lossDifference <= tolerance && worstGradient <= tolerance }
    }

    /// Rows lo..<hi of a fixed synthetic image-report batch: images, token ids ([CLS] = 1 first), padding.
    public func batch(rows: Range<Int>) -> (images: Tensor, ids: IndexTensor, padding: Tensor) {
        var rng = RNG(seed: 99, "equivalence.batch")
        let all = Tensor.normal([globalBatch, config.imageChannels, config.imageSize, config.imageSize], rng: &rng)
        let t = tokens
        let ids = (0..<(globalBatch * t)).map { i in i % t == 0 ? Int32(1) : Int32(2 + rng.int(config.vocabSize - 2)) }
        let padding = (0..<(globalBatch * t)).map { i -> Float in (i / t) % 3 == 0 && i % t >= t - 2 ? 0 : 1 }
        let (lo, hi) = (rows.lowerBound, rows.upperBound)
        return (try! all.slice(axis: 0, lo, hi).copy(), IndexTensor(shape: [hi - lo, t], values: Array(ids[(lo * t)..<(hi * t)])),
                Tensor(shape: [hi - lo, t], values: Array(padding[(lo * t)..<(hi * t)])))
    }

    /// One forward/backward of `model` on `rows`, returning the loss (gradients stay on the model).
    func step(_ model: CLIPModel, rows: Range<Int>, communicator: Communicator) throws -> Float {
        let (images, ids, padding) = batch(rows: rows)
        let loss = try model.loss(images: images, ids: ids, padding: padding, communicator: communicator)
        try loss.backward()
        return loss.item
    }

    /// Runs the check on `communicator`'s world. Ranks other than 0 start from a different
    /// initialisation, so the check also covers the initial broadcast.
    public func run(_ communicator: Communicator, bucketBytes: Int = 4096) throws -> Outcome {
        guard globalBatch % communicator.size == 0 else {
            throw DistError.bufferMismatch(call: "equivalence", detail: "global batch \(globalBatch) does not split over \(communicator.size) ranks")
        }
        let model = CLIPModel(config: config, seed: communicator.rank == 0 ? 1 : 100 + UInt64(communicator.rank))
        let ddp = try DataParallel(model: model, communicator: communicator, bucketBytes: bucketBytes)
        let b = globalBatch / communicator.size
        var loss = [try step(model, rows: (communicator.rank * b)..<((communicator.rank + 1) * b), communicator: communicator)]
        try ddp.synchronizeGradients()
        try communicator.allReduceSum(&loss)

        let reference = CLIPModel(config: config, seed: 1)
        let referenceLoss = try step(reference, rows: 0..<globalBatch, communicator: LocalWorld(size: 1).communicators()[0])
        var worst: (Float, String) = (0, "")
        var gradients: [String: [Float]] = [:]
        for (p, r) in zip(model.namedParameters, reference.namedParameters) {
            let g = p.tensor.grad!.scalars, gr = r.tensor.grad!.scalars
            gradients[p.name] = g
            var diff = 0.0, norm = 0.0
            for (x, y) in zip(g, gr) {
                diff += Double(x - y) * Double(x - y)
                norm += Double(y) * Double(y)
            }
            let relative = Float((diff / Swift.max(norm, 1e-30)).squareRoot())
            if relative > worst.0 || worst.1.isEmpty { worst = (relative, p.name) }
        }
        return Outcome(loss: loss[0], referenceLoss: referenceLoss, worstGradient: worst.0, worstParameter: worst.1, gradients: gradients)
    }
}
