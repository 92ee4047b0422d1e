// CLIP / ConVIRT as a training method: the CLIP model's symmetric InfoNCE over global negatives on
// image-report batches, logging the temperature; evaluated by embedding images and reports (linear probe,
// retrieval, zero-shot by prompts). Registered as `method: clip`. With `model.initFrom: hf:DIR` its report
// encoder starts from a Hugging Face BERT directory, whose vocabulary then reads the reports.
import CarinaData
import CarinaDist
import CarinaNN

public final class CLIPMethod: TrainingMethod, EmbedsImagesAndTexts {
    public let clip: CLIPModel
    public var model: Module { clip }
    public var requirements: BatchRequirements { .imagesAndTokens }

    /// The vocabulary of the model the report encoder starts from (`initFrom`), which reads the reports.
    public let tokenizer: WordPieceTokenizer?

    public init(config: CLIPConfig, seed: UInt64, tokenizer: WordPieceTokenizer? = nil) {
        clip = CLIPModel(config: config, seed: seed)
        self.tokenizer = tokenizer
    }

    /// With `initFrom: hf:DIR`: the directory's encoder, converted by HF's name map, as the report encoder.
    public var weightSources: [WeightSource] {
        let c = clip.config
        guard c.initFrom.hasPrefix(CLIPMethod.huggingFacePrefix) else { return [] }
        return [WeightSource(path: String(c.initFrom.dropFirst(CLIPMethod.huggingFacePrefix.count)),
                             format: .huggingFaceText(layers: c.textDepth, pooler: c.textPooler), rename: [.init(from: "", to: "text.")],
                             purpose: "the report encoder")]
    }

    /// `textLearningRateScale` for the report encoder (`text.*`); decay as usual.
    public func parameterGroup(_ parameter: NamedParameter) -> ParameterGroup {
        ParameterGroup(learningRateScale: parameter.name.hasPrefix("text.") ? clip.config.textLearningRateScale : 1, decays: parameter.decays)
    }

    public var textEncoding: TextEncoding? { tokenizer.map { TextEncoding(tokenizer: $0, contextLength: clip.config.contextLength) } }

    static let huggingFacePrefix = "hf:"

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
        let source = section.source
        var defaults = CLIPConfig()
        defaults.imageSize = context.imageSize
        defaults.imageChannels = context.imageChannels
        defaults.contextLength = context.contextLength
        defaults.vocabSize = context.vocabularySize
        let first = try section.decode(CLIPConfig.self, defaults: defaults)
        var tokenizer: WordPieceTokenizer? = nil
        if !first.initFrom.isEmpty {
            (defaults, tokenizer) = try huggingFaceDefaults(first.initFrom, over: defaults, source: source)
        }
        let config = try section.decode(CLIPConfig.self, defaults: defaults)
        if tokenizer != nil {
            let keys: [(String, PartialKeyPath<CLIPConfig>)] = [("textArchitecture", \.textArchitecture), ("textWidth", \.textWidth),
                ("textDepth", \.textDepth), ("textHeads", \.textHeads), ("textIntermediate", \.textIntermediate), ("textPositions", \.textPositions),
                ("textNormEps", \.textNormEps), ("textTokenTypes", \.textTokenTypes), ("textPaddingIndex", \.textPaddingIndex), ("vocabSize", \.vocabSize)]
            for (key, path) in keys where "\(config[keyPath: path])" != "\(defaults[keyPath: path])" {
                throw ConfigError("\(source): model.\(key) is \(config[keyPath: path]) but \(config.initFrom) has \(defaults[keyPath: path]) (its config.json); "
                                  + "leave it out: the imported encoder's sizes are used")
            }
        }
        try config.validate(source: source, path: "model")
        var mustMatch = [("imageSize", config.imageSize, context.imageSize), ("contextLength", config.contextLength, context.contextLength)]
        if tokenizer == nil { mustMatch.append(("vocabSize", config.vocabSize, context.vocabularySize)) }
        for (key, value, data) in mustMatch where value != data {
            throw ConfigError("\(source): model.\(key) is \(value) but the data gives \(data); set it in the data section only")
        }
        return CLIPMethod(config: config, seed: context.seed, tokenizer: tokenizer)
    }

    /// `defaults` with the report encoder of the Hugging Face directory `initFrom` names, and its tokenizer.
    static func huggingFaceDefaults(_ initFrom: String, over defaults: CLIPConfig, source: String) throws -> (CLIPConfig, WordPieceTokenizer) {
        guard initFrom.hasPrefix(huggingFacePrefix) else {
            throw ConfigError("\(source): model.initFrom is '\(initFrom)'; a CLIP run starts its report encoder from hf:DIR (a Hugging Face BERT directory)")
        }
        let directory = String(initFrom.dropFirst(huggingFacePrefix.count))
        let model: HFTextModel
        do { model = try HFTextModel(directory: directory) } catch { throw ConfigError("\(source): model.initFrom: \(error)") }
        var config = defaults
        model.apply(to: &config)
        config.initFrom = initFrom
        let loaded: any TextTokenizer
        do { loaded = try TokenizerFiles.load(directory: directory) } catch { throw ConfigError("\(source): model.initFrom: \(error)") }
        guard let tokenizer = loaded as? WordPieceTokenizer else {
            throw ConfigError("\(source): model.initFrom: \(directory) holds a byte-level BPE tokenizer (\(model.architecture.rawValue)); "
                              + "a CLIP run reads reports with WordPiece, so it starts from BERT directories only")
        }
        guard tokenizer.vocabularySize <= model.vocabSize else {
            throw ConfigError("\(source): model.initFrom: \(directory)/vocab.txt has \(tokenizer.vocabularySize) tokens, more than the "
                              + "\(model.vocabSize) rows of its word embeddings (config.json vocab_size)")
        }
        guard defaults.contextLength <= model.maxLength else {
            throw ConfigError("\(source): data.contextLength is \(defaults.contextLength) but \(directory) has positions for \(model.maxLength) tokens")
        }
        return (config, tokenizer)
    }
}
