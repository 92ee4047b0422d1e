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
        head = Linear(config.imageFeatureWidth, classes, rng: &headRNG)
        width = config.imageFeatureWidth
    }

    /// images (B, 1, H, W) -> logits (B, C)
    public func callAsFunction(_ images: Tensor) throws -> Tensor {
        try head(CLIPModel.imageFeatures(images, visual: visual, resnet: resnet, attentionPool: attentionPool, width: width))
    }

}

public final class FineTuneMethod: TrainingMethod, ScoresImageClasses, EmbedsImages {
    public let network: FineTuneModel
    /// The findings the head scores, in column order.
    public let classNames: [String]
    /// Where the encoder's initial weights come from ("" = the seed's random initialisation).
    public let initFrom: String
    public var model: Module { network }

    public init(config: FineTuneConfig, classNames: [String], seed: UInt64) {
        network = FineTuneModel(config: config.encoder, classes: classNames.count, seed: seed)
        self.classNames = classNames
        initFrom = config.initFrom
        if config.freezeEncoder {
            network.visual?.freeze()
            network.resnet?.freeze()
            network.attentionPool?.freeze()
        }
    }

    /// The image encoder of a CLIP run: every tensor but the head, by the same names (`visual.*`, or
    /// `resnet.*` and `attentionPool.*`).
    public var weightSources: [WeightSource] {
        initFrom.isEmpty ? [] : [WeightSource(path: initFrom, include: ["visual.", "resnet.", "attentionPool."], purpose: "the image encoder")]
    }

    /// Mean BCE over the known labels of the global batch (each rank divides its sum by the global count,
    /// so the ranks' losses add up to the one-process loss).
    public func loss(_ batch: Batch, context: StepContext) throws -> (loss: Tensor, metrics: [String: Float]) {
        try MultiLabelScoring.loss(logits: network(batch.images), batch: batch, context: context)
    }

    public var scorableClasses: [String]? { classNames }

    public func classLogits(_ batch: Batch, classes: [String], context: EvaluationContext) throws -> Tensor {
        let columns = try MultiLabelScoring.columns(of: classes, in: classNames, op: "finetune")
        return try network(batch.images).indexSelect(axis: 1, columns)
    }

    /// The encoder's pooled feature (before the head), for a linear probe.
    public func imageFeatures(_ images: Tensor) throws -> Tensor {
        try CLIPModel.imageFeatures(images, visual: network.visual, resnet: network.resnet, attentionPool: network.attentionPool, width: network.width)
    }

    public static let registration = MethodRegistration(
        name: "finetune", summary: "supervised fine-tuning of the image encoder with a linear head (BCE over known labels)",
        testModel: #"{"encoder": {"patchSize": 4, "visionWidth": 16, "visionDepth": 1, "visionHeads": 2}}"#
    ) { section, context in
        var defaults = FineTuneConfig()
        defaults.encoder.imageSize = context.imageSize
        defaults.encoder.imageChannels = context.imageChannels
        let config = try section.decode(FineTuneConfig.self, defaults: defaults)
        try config.encoder.validate(source: section.source, path: "model.encoder")
        guard config.encoder.initFrom.isEmpty else {
            throw ConfigError("\(section.source): model.encoder.initFrom: fine-tuning has no report encoder to import; it starts from a CLIP run (model.initFrom)")
        }
        guard config.encoder.imageSize == context.imageSize else {
            throw ConfigError("\(section.source): model.encoder.imageSize is \(config.encoder.imageSize) but the data gives \(context.imageSize); set it in the data section only")
        }
        guard !context.classNames.isEmpty else { throw ConfigError("\(section.source): fine-tuning needs a dataset with labels") }
        return FineTuneMethod(config: config, classNames: context.classNames, seed: context.seed)
    }
}
