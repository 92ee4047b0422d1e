// Supervised fine-tuning on labels: CLIP's image encoder (same modules and parameter names, so it can start
// from a contrastive checkpoint or from scratch) with a linear head per finding, trained with BCE over the
// known labels. The seed blog's comparison — contrastive pretraining + linear probe vs fine-tuning on labels
// vs a randomly initialised encoder — is three configs of this and CLIP. Not for: zero-shot (no text).
import CarinaData
import CarinaDist
import CarinaNN

/// The `model:` section of a fine-tuning config: the image encoder's sizes (CLIPConfig's keys) plus where
/// to start from and whether the encoder trains.
public struct FineTuneConfig: Sendable, Codable, Equatable {
    public var encoder = CLIPConfig()
    /// A CLIP run directory or checkpoint file whose image encoder initialises this one ("" = from scratch).
    public var initFrom = ""
    /// Train only the head (a linear probe trained end to end) instead of the whole encoder.
    public var freezeEncoder = false

    public init() {}
}

public final class FineTuneModel: Module {
    public let visual: ViT?
    public let resnet: ResNet?
    public let attentionPool: AttentionPool2d?
    public let head: Linear  // visionWidth -> C
    public let width: Int

    public init(config: CLIPConfig, classes: Int, seed: UInt64) {
        // The encoder draws from CLIP's init stream first, so a from-scratch fine-tune starts where CLIP does.
        var rng = RNG(seed: seed, "init.clip")
        (visual, resnet, attentionPool) = CLIPModel.makeImageEncoder(config, rng: &rng)
        var headRNG = RNG(seed: seed, "init.finetune.head")
        head = Linear(config.visionWidth, classes, rng: &headRNG)
        width = config.visionWidth
    }

    /// images (B, 1, H, W) -> logits (B, C)
    public func callAsFunction(_ images: Tensor) throws -> Tensor {
        try head(CLIPModel.imageFeatures(images, visual: visual, resnet: resnet, attentionPool: attentionPool, width: width))
    }

    /// The encoder's parameters (names as in a CLIP model), for loading from a contrastive checkpoint.
    public var encoderParameters: [(name: String, tensor: Tensor)] {
        namedParameters.filter { !$0.name.hasPrefix("head.") }.map { (name: $0.name, tensor: $0.tensor) } + namedBuffers
    }
}

public final class FineTuneMethod: TrainingMethod {
    public let network: FineTuneModel
    /// Where the encoder's initial weights come from ("" = the seed's random initialisation).
    public let initFrom: String
    public var model: Module { network }
    public var needsText: Bool { false }

    public init(config: FineTuneConfig, classes: Int, seed: UInt64) {
        network = FineTuneModel(config: config.encoder, classes: classes, seed: seed)
        initFrom = config.initFrom
        if config.freezeEncoder {
            network.visual?.freeze()
            network.resnet?.freeze()
            network.attentionPool?.freeze()
        }
    }

    /// Mean BCE over the known labels of the global batch (each rank divides its sum by the global count,
    /// so the ranks' losses add up to the one-process loss).
    public func loss(_ batch: Batch, communicator: Communicator) throws -> (loss: Tensor, metrics: [String: Float]) {
        var known = [batch.labelMask.scalars.reduce(0, +)]
        try communicator.allReduceSum(&known)
        let targets = Tensor(shape: batch.labels.shape, values: batch.labels.scalars.map { $0 == 1 ? 1 : 0 })  // unknown: masked out
        let logits = try network(batch.images)
        let sum = try logits.binaryCrossEntropyWithLogits(targets: targets, weight: batch.labelMask, reduction: .sum)
        return (sum / Swift.max(known[0], 1), ["known_labels": known[0]])
    }
}
