// Fine-tuning a pre-trained M3AE for multi-label classification (the official downstream heads, §2.4):
// the image and a text go through the encoders and the co-attention fusion, and a head on the joint
// feature [text pooled | image pooled] scores each finding; BCE over the known labels. The text is the
// report (`text: report`, for tasks whose text is an input, as MELINDA's captions) or nothing but [CLS]
// [SEP] (`text: none`, the default: a radiology report states the findings it would be asked to predict).
// A VQA head would be this with the question as the text. Registered as `method: m3ae-finetune`.
import CarinaData
import CarinaDist
import CarinaNN

public struct M3AEFineTuneConfig: Sendable, Codable, Equatable {
    /// An M3AE run directory or checkpoint file to start from (its sizes and vocabulary are used); "" =
    /// from scratch with the sizes of `m3ae`.
    public var initFrom = ""
    public var m3ae = M3AEConfig()
    /// "none" or "report".
    public var text = "none"
    /// Learning-rate factors of the head and of the fusion (the official MELINDA setting: 10 and 5).
    public var headLearningRateScale: Float = 10
    public var fusionLearningRateScale: Float = 5

    public init() {}
}

/// The official classification head: Linear(2W, 2W) → LayerNorm → GELU → Linear(2W, C).
public final class JointClassificationHead: Module {
    public let dense: Linear
    public let norm: LayerNorm
    public let output: Linear

    public init(width: Int, classes: Int, std: Float, rng: inout RNG) {
        dense = Linear(width, width, std: std, rng: &rng)
        norm = LayerNorm(width)
        output = Linear(width, classes, std: std, rng: &rng)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor { try output(norm(dense(x)).gelu()) }
}

public final class M3AEFineTuneModel: Module {
    public let m3ae: M3AEModel
    public let head: JointClassificationHead

    public init(config: M3AEConfig, classes: Int, seed: UInt64) {
        m3ae = M3AEModel(config: config, seed: seed)
        var rng = RNG(seed: seed, "init.m3ae-finetune.head")
        head = JointClassificationHead(width: 2 * config.fusionWidth, classes: classes,
                                       std: config.initStd > 0 ? config.initStd : 1 / Float(2 * config.fusionWidth).squareRoot(), rng: &rng)
    }
}

public final class M3AEFineTuneMethod: TrainingMethod, ScoresImageClasses, EmbedsImages {
    public let network: M3AEFineTuneModel
    public let classNames: [String]
    public let settings: M3AEFineTuneConfig
    /// The pre-trained run's vocabulary (the run's own from scratch): reports are read with it.
    public let tokenizer: (any TextTokenizer)?
    public var model: Module { network }
    var config: M3AEConfig { network.m3ae.config }

    public init(settings: M3AEFineTuneConfig, config: M3AEConfig, classNames: [String], seed: UInt64, tokenizer: (any TextTokenizer)?) {
        network = M3AEFineTuneModel(config: config, classes: classNames.count, seed: seed)
        self.classNames = classNames
        self.settings = settings
        self.tokenizer = tokenizer
    }

    public var requirements: BatchRequirements { settings.text == "report" ? .imagesAndTokens : .images }
    public var textEncoding: TextEncoding? { tokenizer.map { TextEncoding(tokenizer: $0, contextLength: config.contextLength) } }

    /// Every tensor of the M3AE run, under `m3ae.` (its pre-training heads load too and stay unused).
    public var weightSources: [WeightSource] {
        settings.initFrom.isEmpty ? [] : [WeightSource(path: settings.initFrom, rename: [.init(from: "", to: "m3ae.")], purpose: "the M3AE model")]
    }

    public func parameterGroup(_ p: NamedParameter) -> ParameterGroup {
        let parts = p.name.split(separator: ".")
        let scale: Float = parts.first == "head" ? settings.headLearningRateScale
            : parts.count > 1 && M3AEModel.fusionModules.contains(String(parts[1])) ? settings.fusionLearningRateScale : 1
        return ParameterGroup(learningRateScale: scale, decays: p.decays)
    }

    /// Logits (B, C) for the batch: the joint feature of (image, text) through the head.
    func logits(_ batch: Batch, training: Bool, seed: UInt64, step: Int, firstRow: Int) throws -> Tensor {
        let b = batch.count
        let ids: IndexTensor, padding: Tensor
        if settings.text == "report" {
            guard let text = batch.text else { throw TensorError.invalidArgument(op: "m3ae-finetune", detail: "the batch has no report tokens") }
            (ids, padding) = (text.ids, text.padding)
        } else {
            guard let tokenizer else {
                throw TensorError.invalidArgument(op: "m3ae-finetune", detail: "no vocabulary to spell [CLS] [SEP] with")
            }
            ids = IndexTensor(shape: [b, 2], values: (0..<b).flatMap { _ in [tokenizer.specials.start, tokenizer.specials.end] })
            padding = Tensor.ones([b, 2])
        }
        return try logits(ids: ids, padding: padding, images: batch.images, training: training, seed: seed, step: step, firstRow: firstRow)
    }

    func logits(ids: IndexTensor, padding: Tensor, images: Tensor, training: Bool, seed: UInt64, step: Int, firstRow: Int) throws -> Tensor {
        let m = network.m3ae
        let keys = FusionDropoutKeys(seed: seed, step: step, pass: 3, firstRow: firstRow, training: training)
        let fused = try m.fuse(text: m.textTokens(ids, padding: padding), padding: padding, image: m.imageTokens(images), keys: keys)
        return try network.head(m.pooled(text: fused.text, image: fused.image))
    }

    /// Mean BCE over the known labels of the global batch.
    public func loss(_ batch: Batch, context: StepContext) throws -> (loss: Tensor, metrics: [String: Float]) {
        let logits = try self.logits(batch, training: context.training, seed: context.seed, step: context.step, firstRow: context.rowOffset)
        return try MultiLabelScoring.loss(logits: logits, batch: batch, context: context)
    }

    public var scorableClasses: [String]? { classNames }

    public func classLogits(_ batch: Batch, classes: [String], context: EvaluationContext) throws -> Tensor {
        let columns = try MultiLabelScoring.columns(of: classes, in: classNames, op: "m3ae-finetune")
        return try logits(batch, training: false, seed: context.seed, step: 0, firstRow: context.rowOffset).indexSelect(axis: 1, columns)
    }

    /// The image encoder's class token, for a linear probe.
    public func imageFeatures(_ images: Tensor) throws -> Tensor {
        try CLIPModel.imageFeatures(images, visual: network.m3ae.visual, resnet: nil, attentionPool: nil, width: config.visionWidth)
    }

    public static let registration = MethodRegistration(
        name: "m3ae-finetune", summary: "fine-tuning a pre-trained M3AE for multi-label findings: a head on the fused image-text feature (BCE)",
        testModel: #"{"m3ae": {"patchSize": 4, "visionWidth": 16, "visionDepth": 1, "visionHeads": 2, "textWidth": 16, "textDepth": 1, "textHeads": 2, "fusionWidth": 16, "fusionLayers": 1, "fusionHeads": 2, "mimLayer": 1, "decoderWidth": 8, "decoderDepth": 1, "decoderHeads": 2}, "text": "report"}"#
    ) { section, context in
        let source = section.source
        var defaults = M3AEFineTuneConfig()
        (defaults.m3ae.imageSize, defaults.m3ae.imageChannels) = (context.imageSize, context.imageChannels)
        (defaults.m3ae.contextLength, defaults.m3ae.vocabSize) = (context.contextLength, context.vocabularySize)
        var tokenizer: (any TextTokenizer)? = context.tokenizer
        let first = try section.decode(M3AEFineTuneConfig.self, defaults: defaults)
        if !first.initFrom.isEmpty {
            guard let readRun = context.readRun else { throw ConfigError("\(source): model.initFrom cannot be read here (no run files)") }
            let run: SourceRun
            do { run = try readRun(first.initFrom) } catch { throw ConfigError("\(source): model.initFrom '\(first.initFrom)': \(error)") }
            guard run.method == "m3ae" else {
                throw ConfigError("\(source): model.initFrom: \(run.checkpoint) is a '\(run.method)' run, not an M3AE run")
            }
            var sizes = M3AEConfig()
            (sizes.imageSize, sizes.imageChannels, sizes.contextLength) = (run.imageSize, run.imageChannels, run.contextLength)
            if let found = run.tokenizer { sizes.vocabSize = found.vocabularySize }
            defaults.m3ae = try run.model.decode(M3AEConfig.self, defaults: sizes)
            // The run's own vocabulary fills its embedding table; an imported one (textInitFrom) may be smaller than it.
            let imported = !defaults.m3ae.textInitFrom.isEmpty
            (defaults.m3ae.initFrom, defaults.m3ae.imageInitFrom, defaults.m3ae.textInitFrom) = ("", "", "")
            guard let found = run.tokenizer,
                  imported ? found.vocabularySize <= defaults.m3ae.vocabSize : found.vocabularySize == defaults.m3ae.vocabSize else {
                throw ConfigError("\(source): model.initFrom: no vocabulary of \(defaults.m3ae.vocabSize) tokens found for \(run.checkpoint)")
            }
            tokenizer = found
        }
        let settings = try section.decode(M3AEFineTuneConfig.self, defaults: defaults)
        if !settings.initFrom.isEmpty, settings.m3ae != defaults.m3ae {
            throw ConfigError("\(source): model.m3ae differs from the M3AE run at \(settings.initFrom); leave model.m3ae out: the run's sizes are used")
        }
        guard ["none", "report"].contains(settings.text) else {
            throw ConfigError("\(source): model.text must be none or report; got '\(settings.text)'")
        }
        guard settings.m3ae.initFrom.isEmpty else {
            throw ConfigError("\(source): model.m3ae.initFrom: fine-tuning starts from an M3AE run (model.initFrom), not from a CLIP run")
        }
        try settings.m3ae.validate(source: source, path: "model.m3ae")
        guard settings.m3ae.imageSize == context.imageSize, settings.m3ae.imageChannels == context.imageChannels else {
            throw ConfigError("\(source): the M3AE takes \(settings.m3ae.imageSize)-px images with \(settings.m3ae.imageChannels) channel(s); "
                              + "data.imageSize is \(context.imageSize) with \(context.imageChannels)")
        }
        if settings.initFrom.isEmpty, settings.m3ae.vocabSize != context.vocabularySize || settings.m3ae.contextLength != context.contextLength {
            throw ConfigError("\(source): model.m3ae.vocabSize and contextLength come from the data section; leave them out")
        }
        guard !context.classNames.isEmpty else { throw ConfigError("\(source): fine-tuning needs a dataset with labels") }
        return M3AEFineTuneMethod(settings: settings, config: settings.m3ae, classNames: context.classNames, seed: context.seed,
                                  tokenizer: tokenizer)
    }
}
