// CLIP / ConVIRT as a training method: the CLIP model's symmetric InfoNCE over global negatives on
// image-report batches, logging the temperature; evaluated by embedding images and reports (linear probe,
// retrieval, zero-shot by prompts). Registered as `method: clip`. With `model.initFrom: hf:DIR` its report
// encoder starts from a Hugging Face BERT / RoBERTa directory, or the whole model from a CLIPModel directory
// (OpenAI CLIP); the directory's tokenizer then reads the reports.
import CarinaData
import CarinaDist
import CarinaNN

public final class CLIPMethod: TrainingMethod, EmbedsImagesAndTexts {
    public let clip: CLIPModel
    public var model: Module { clip }
    public var requirements: BatchRequirements { .imagesAndTokens }

    /// The tokenizer of the model the report encoder starts from (`initFrom`), which reads the reports.
    public let tokenizer: (any TextTokenizer)?

    public init(config: CLIPConfig, seed: UInt64, tokenizer: (any TextTokenizer)? = nil) {
        clip = CLIPModel(config: config, seed: seed)
        self.tokenizer = tokenizer
    }

    /// With `initFrom: hf:DIR`: a BERT / RoBERTa directory's encoder as the report encoder, or a CLIPModel
    /// directory as the whole model (its ViT positions resized to this image size), converted by HF's name map;
    /// `initFrom: openclip:DIR` an open_clip model as the whole model; `imageInitFrom: torchvision:FILE` the
    /// ResNet from torchvision's weights.
    public var weightSources: [WeightSource] { CLIPMethod.weightSources(clip.config) }

    /// The weight sources a CLIP of config `c` starts from (its `initFrom` and `imageInitFrom`), named as in
    /// `CLIPModel`.
    public static func weightSources(_ c: CLIPConfig) -> [WeightSource] {
        var sources: [WeightSource] = []
        if c.imageInitFrom.hasPrefix(torchvisionPrefix) {
            sources.append(WeightSource(path: String(c.imageInitFrom.dropFirst(torchvisionPrefix.count)),
                                        format: .torchvisionResNet(blocks: c.resnetBlocks, imageChannels: c.imageChannels),
                                        rename: [.init(from: "resnet.", to: "resnet.")], purpose: "the image encoder"))
        }
        if c.initFrom.hasPrefix(openCLIPPrefix) {
            return sources + [WeightSource(path: String(c.initFrom.dropFirst(openCLIPPrefix.count)), format: .openCLIP(config: c),
                                           rename: [.init(from: "", to: "")], purpose: "the CLIP model",
                                           resizedPositions: ["visual.positionEmbedding", "attentionPool.positionEmbedding"])]
        }
        guard c.initFrom.hasPrefix(huggingFacePrefix) else { return sources }
        let directory = String(c.initFrom.dropFirst(huggingFacePrefix.count))
        if c.textArchitecture == .clip {
            return [WeightSource(path: directory, format: .huggingFaceCLIP(visionLayers: c.visionDepth, textLayers: c.textDepth, imageChannels: c.imageChannels),
                                 rename: [.init(from: "", to: "")], purpose: "the CLIP model", resizedPositions: ["visual.positionEmbedding"])]
        }
        return sources + [WeightSource(path: directory, format: .huggingFaceText(layers: c.textDepth, pooler: c.textPooler),
                                       rename: [.init(from: "", to: "text.")], purpose: "the report encoder")]
    }

    /// `textLearningRateScale` for the report encoder (`text.*`); decay as usual.
    public func parameterGroup(_ parameter: NamedParameter) -> ParameterGroup {
        ParameterGroup(learningRateScale: parameter.name.hasPrefix("text.") ? clip.config.textLearningRateScale : 1, decays: parameter.decays)
    }

    public var textEncoding: TextEncoding? { tokenizer.map { TextEncoding(tokenizer: $0, contextLength: clip.config.contextLength) } }

    public static let huggingFacePrefix = "hf:"
    public static let openCLIPPrefix = "openclip:"
    public static let torchvisionPrefix = "torchvision:"

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
        var tokenizer: (any TextTokenizer)? = nil
        if !first.initFrom.isEmpty {
            (defaults, tokenizer) = try huggingFaceDefaults(first.initFrom, over: defaults, source: source)
        }
        let config = try section.decode(CLIPConfig.self, defaults: defaults)
        if tokenizer != nil {
            var keys: [(String, PartialKeyPath<CLIPConfig>)] = [("textArchitecture", \.textArchitecture), ("textWidth", \.textWidth),
                ("textDepth", \.textDepth), ("textHeads", \.textHeads), ("textIntermediate", \.textIntermediate), ("textPositions", \.textPositions),
                ("textNormEps", \.textNormEps), ("textTokenTypes", \.textTokenTypes), ("textPaddingIndex", \.textPaddingIndex), ("vocabSize", \.vocabSize),
                ("textActivation", \.textActivation)]
            if defaults.textArchitecture == .clip {
                keys += [("imageEncoder", \.imageEncoder), ("patchSize", \.patchSize), ("visionWidth", \.visionWidth), ("visionDepth", \.visionDepth),
                         ("visionHeads", \.visionHeads), ("mlpRatio", \.mlpRatio), ("patchBias", \.patchBias), ("preNorm", \.preNorm),
                         ("visionActivation", \.visionActivation), ("embedDim", \.embedDim), ("resnetBlocks", \.resnetBlocks),
                         ("resnetWidth", \.resnetWidth), ("resnetStyle", \.resnetStyle)]
            }
            for (key, path) in keys where "\(config[keyPath: path])" != "\(defaults[keyPath: path])" {
                throw ConfigError("\(source): model.\(key) is \(config[keyPath: path]) but \(config.initFrom) has \(defaults[keyPath: path]) (its config.json); "
                                  + "leave it out: the imported encoder's sizes are used")
            }
        }
        try config.validate(source: source, path: "model")
        if !config.imageInitFrom.isEmpty {
            guard config.imageInitFrom.hasPrefix(torchvisionPrefix) else {
                throw ConfigError("\(source): model.imageInitFrom is '\(config.imageInitFrom)'; it takes torchvision:FILE (a torchvision ResNet state dict as safetensors)")
            }
            guard config.imageEncoder == .resnet, config.resnetStyle == .torchvision, !config.initFrom.hasPrefix(openCLIPPrefix),
                  config.textArchitecture != .clip || !config.initFrom.hasPrefix(huggingFacePrefix) else {
                throw ConfigError("\(source): model.imageInitFrom (torchvision:) fills a torchvision-style ResNet image encoder (imageEncoder: resnet, "
                                  + "resnetStyle: torchvision), not one that initFrom already brings")
            }
        }
        var mustMatch = [("imageSize", config.imageSize, context.imageSize), ("contextLength", config.contextLength, context.contextLength)]
        if tokenizer == nil { mustMatch.append(("vocabSize", config.vocabSize, context.vocabularySize)) }
        for (key, value, data) in mustMatch where value != data {
            throw ConfigError("\(source): model.\(key) is \(value) but the data gives \(data); set it in the data section only")
        }
        return CLIPMethod(config: config, seed: context.seed, tokenizer: tokenizer)
    }

    /// `defaults` set to the whole CLIP that public weights `from` hold (`openclip:DIR`, or `hf:DIR` on a CLIPModel
    /// directory; the image size and channels stay `defaults`'); nil for an `hf:` directory of another model.
    public static func publicCLIP(_ from: String, over defaults: CLIPConfig) throws -> CLIPConfig? {
        var config = defaults
        if from.hasPrefix(openCLIPPrefix) {
            try OpenCLIPModel(directory: String(from.dropFirst(openCLIPPrefix.count))).apply(to: &config)
            return config
        }
        guard from.hasPrefix(huggingFacePrefix) else { return nil }
        let directory = String(from.dropFirst(huggingFacePrefix.count))
        guard try HFCLIPModel.modelType(directory: directory) == "clip" else { return nil }
        try HFCLIPModel(directory: directory).apply(to: &config)
        return config
    }

    /// `defaults` with the report encoder (BERT, RoBERTa) or the whole model (CLIPModel) of the Hugging Face
    /// directory `initFrom` names, or the whole model of an open_clip directory, and the directory's tokenizer,
    /// which must be the model's kind.
    public static func huggingFaceDefaults(_ initFrom: String, over defaults: CLIPConfig, source: String) throws -> (CLIPConfig, any TextTokenizer) {
        let openCLIP = initFrom.hasPrefix(openCLIPPrefix)
        guard initFrom.hasPrefix(huggingFacePrefix) || openCLIP else {
            throw ConfigError("\(source): model.initFrom is '\(initFrom)'; a CLIP run starts from hf:DIR (a Hugging Face BERT, RoBERTa or CLIP directory) "
                              + "or openclip:DIR (an open_clip model directory)")
        }
        let directory = String(initFrom.dropFirst(openCLIP ? openCLIPPrefix.count : huggingFacePrefix.count))
        var config = defaults
        let vocabSize: Int, maxLength: Int, kind: TokenizerFiles.Kind
        do {
            if let whole = try publicCLIP(initFrom, over: defaults) {
                config = whole
                (vocabSize, maxLength, kind) = (whole.vocabSize, whole.textPositions, .clip)
            } else {
                let model = try HFTextModel(directory: directory)
                model.apply(to: &config)
                (vocabSize, maxLength, kind) = (model.vocabSize, model.maxLength, model.architecture == .bert ? .wordPiece : .roberta)
            }
        } catch { throw ConfigError("\(source): model.initFrom: \(error)") }
        config.initFrom = initFrom
        let tokenizer: any TextTokenizer, found: TokenizerFiles.Kind
        do { (tokenizer, found) = (try TokenizerFiles.load(directory: directory), try TokenizerFiles.kind(directory: directory)) } catch {
            throw ConfigError("\(source): model.initFrom: \(error)" + (openCLIP ? " (open_clip keeps CLIP's tokenizer in its package: copy "
                              + "open_clip/\(TokenizerFiles.clipBPEFileName) into \(directory))" : ""))
        }
        // A CLIPModel reads CLIP's BPE, or WordPiece when Carina trained it with its own vocabulary (an export).
        guard found == kind || (kind == .clip && found == .wordPiece) else {
            throw ConfigError("\(source): model.initFrom: \(directory) holds a \(found.rawValue) tokenizer but its model needs \(kind.rawValue)")
        }
        guard tokenizer.vocabularySize <= vocabSize else {
            throw ConfigError("\(source): model.initFrom: \(directory)'s tokenizer has \(tokenizer.vocabularySize) tokens, more than the "
                              + "\(vocabSize) rows of its token embeddings (config.json vocab_size)")
        }
        guard defaults.contextLength <= maxLength else {
            throw ConfigError("\(source): data.contextLength is \(defaults.contextLength) but \(directory) has positions for \(maxLength) tokens")
        }
        return (config, tokenizer)
    }
}
