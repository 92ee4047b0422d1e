// CLIP / ConVIRT as a training method: the CLIP model's symmetric InfoNCE over global negatives on
// image-report batches, logging the temperature; evaluated by embedding images and reports (linear probe,
// retrieval, zero-shot by prompts). Registered as `method: clip`.
import CarinaData
import CarinaDist
import CarinaNN

public final class CLIPMethod: TrainingMethod, EmbedsImagesAndTexts {
    public let clip: CLIPModel
    public var model: Module { clip }
    public var requirements: BatchRequirements { .imagesAndTokens }

    public init(config: CLIPConfig, seed: UInt64) {
        clip = CLIPModel(config: config, seed: seed)
    }

    public func loss(_ batch: Batch, context: StepContext) throws -> (loss: Tensor, metrics: [String: Float]) {
        guard let text = batch.text else {
            throw TensorError.invalidArgument(op: "clip", detail: "batch has no token ids (reports were not tokenized)")
        }
        let loss = try clip.loss(images: batch.images, ids: text.ids, padding: text.padding, communicator: context.communicator)
        return (loss, ["temperature": 1 / clip.logitScale().item])
    }

    /// The logit scale is clamped to [0, ln 100] after every step, as CLIP and open_clip do: a clamp in the
    /// forward pass would have no gradient there and keep the scale stuck at 100 once a step crossed it.
    public func optimizerStepped() { clip.logitScale.clampToRange() }

    public func imageFeatures(_ images: Tensor) throws -> Tensor { try clip.embedImages(images) }
    public func imageEmbeddings(_ images: Tensor) throws -> Tensor { try clip.embedImages(images) }
    public func textEmbeddings(_ text: TextBatch) throws -> Tensor { try clip.embedText(text.ids, padding: text.padding) }
    public var similarityScale: Float { Autograd.withoutGrad { clip.logitScale().item } }

    public static let registration = MethodRegistration(
        name: "clip", summary: "CLIP/ConVIRT contrastive image-report pretraining (InfoNCE over global negatives)",
        testModel: #"{"patchSize": 4, "visionWidth": 16, "visionDepth": 1, "visionHeads": 2, "textWidth": 16, "textDepth": 1, "textHeads": 2, "embedDim": 8}"#
    ) { section, context in
        var defaults = CLIPConfig()
        defaults.imageSize = context.imageSize
        defaults.imageChannels = context.imageChannels
        defaults.contextLength = context.contextLength
        defaults.vocabSize = context.vocabularySize
        let config = try section.decode(CLIPConfig.self, defaults: defaults)
        try config.validate(source: section.source, path: "model")
        for (key, value, data) in [("imageSize", config.imageSize, context.imageSize), ("contextLength", config.contextLength, context.contextLength),
                                   ("vocabSize", config.vocabSize, context.vocabularySize)] where value != data {
            throw ConfigError("\(section.source): model.\(key) is \(value) but the data gives \(data); set it in the data section only")
        }
        return CLIPMethod(config: config, seed: context.seed)
    }
}
