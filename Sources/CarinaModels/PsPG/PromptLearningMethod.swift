// Prompt learning on a frozen CLIP for multi-label findings, including findings never seen in training:
// PsPG (Ye et al., PRCV 2024: two GRU decoders write a positive and a negative prompt per class from the
// class name's text feature and the batch's images; Spatial Fusion scores the image's tokens) and the
// baselines it is compared with, CoOp (one learned context shared by all classes, followed by the class
// name) and DualCoOp (learned positive and negative contexts). The CLIP towers never train and stay in
// evaluation mode; what trains is the prompt learner, the fusion gate and the logit scale.
// Registered as `pspg`, `coop` and `dualcoop`. Spec: ../shared/methods/PsPG.md; deviations from the
// official code in docs/models.md. Not for: the decoder's layers (PromptDecoder.swift).
import CarinaData
import CarinaDist
import CarinaNN
import Foundation

public final class PromptLearningModel: Module {
    public let clip: CLIPModel
    /// PsPG: the decoders writing positive and negative prompts.
    public let positiveDecoder: PromptDecoder?
    public let negativeDecoder: PromptDecoder?
    /// CoOp (shared) and DualCoOp (positive): learned context vectors (L, textWidth); DualCoOp's negative.
    public let context: Tensor?
    public let negativeContext: Tensor?
    public let fusion: SpatialFusion?
    /// s = exp(t), learnable and unclamped.
    public let scale: LogitScale

    init(kind: PromptLearningMethod.Kind, config: PromptLearningConfig, seed: UInt64) {
        clip = CLIPModel(config: config.clip, seed: seed)
        var rng = RNG(seed: seed, "init.prompts")
        let c = config.clip
        func decoder() -> PromptDecoder {
            PromptDecoder(embedDim: c.embedDim, hidden: config.decoderHidden, textWidth: c.textWidth, length: config.promptLength,
                          heads: config.decoderHeads, dropout: config.dropout, rng: &rng)
        }
        (positiveDecoder, negativeDecoder) = kind == .pspg ? (decoder(), decoder()) : (nil, nil)
        context = kind == .pspg ? nil : Init.truncatedNormal([config.promptLength, c.textWidth], std: 0.02, rng: &rng)
        negativeContext = kind == .dualcoop ? Init.truncatedNormal([config.promptLength, c.textWidth], std: 0.02, rng: &rng) : nil
        fusion = config.spatialFusion ? SpatialFusion(tokens: 1 + PromptLearningModel.positions(c), rng: &rng) : nil
        scale = LogitScale(initialTemperature: config.initialTemperature)
    }

    /// Dense image positions of a CLIP config: ViT patches, or the ResNet's final feature map.
    static func positions(_ c: CLIPConfig) -> Int {
        switch c.imageEncoder {
        case .vit: return (c.imageSize / c.patchSize) * (c.imageSize / c.patchSize)
        case .resnet: return ((c.imageSize + 31) / 32) * ((c.imageSize + 31) / 32)
        }
    }
}

public final class PromptLearningMethod: TrainingMethod, ScoresImageClasses, EmbedsImagesAndTexts {
    public enum Kind: String, Sendable, CaseIterable {
        case pspg, coop, dualcoop
    }

    public let kind: Kind
    public let config: PromptLearningConfig
    public let network: PromptLearningModel
    /// The findings trained on, in label-column order.
    public let classNames: [String]
    /// The CLIP's tokenizer (class names are read with it): WordPiece for Carina's and BERT's towers, CLIP's
    /// byte-level BPE for OpenAI CLIP's (start and end are then <|startoftext|> and <|endoftext|>).
    public let tokenizer: any TextTokenizer
    public var model: Module { network }
    /// Per class name: its word-piece ids and the text feature of the bare name (unnormalised), computed
    /// from the loaded text tower.
    private var nameIDs: [String: [Int32]] = [:]
    private var nameFeatures: [String: Tensor] = [:]

    public init(kind: Kind, config: PromptLearningConfig, classNames: [String], tokenizer: any TextTokenizer, seed: UInt64) throws {
        self.kind = kind
        self.config = config
        self.classNames = classNames
        self.tokenizer = tokenizer
        network = PromptLearningModel(kind: kind, config: config, seed: seed)
        network.clip.freeze()
        for name in classNames { _ = try ids(of: name) }
    }

    /// PsPG decays tensors of two or more axes (weights, CoOp contexts), not biases, norms or the scale.
    public func parameterGroup(_ parameter: NamedParameter) -> ParameterGroup { ParameterGroup(decays: parameter.tensor.rank >= 2) }

    /// The CLIP run's towers, and its logit scale as this model's starting scale; or the same from public
    /// weights (`clipFrom: openclip:DIR` / `hf:DIR`, through their name maps).
    public var weightSources: [WeightSource] {
        guard !config.clipFrom.isEmpty else { return [] }
        if PromptLearningMethod.isPublic(config.clipFrom) {
            return CLIPMethod.weightSources(network.clip.config).flatMap { source -> [WeightSource] in
                var frozen = source, scale = source
                frozen.rename = [.init(from: "", to: "clip.")]
                frozen.resizedPositions = Set(source.resizedPositions.map { "clip." + $0 })
                (frozen.purpose, scale.purpose) = ("the frozen CLIP", "the starting logit scale")
                (scale.include, scale.rename, scale.resizedPositions) = (["logitScale."], [.init(from: "logitScale.", to: "scale.")], [])
                return [frozen, scale]
            }
        }
        return [WeightSource(path: config.clipFrom, rename: [.init(from: "", to: "clip.")], purpose: "the frozen CLIP"),
                WeightSource(path: config.clipFrom, include: ["logitScale."], rename: [.init(from: "logitScale.", to: "scale.")],
                             purpose: "the starting logit scale")]
    }

    /// Class-name features come from the text tower as loaded (the official code computes them from the
    /// OpenAI tower before a fine-tuned CLIP is loaded).
    public func weightsLoaded() throws {
        nameFeatures = [:]
        try Autograd.withoutGrad { for name in classNames { _ = try feature(of: name) } }
    }

    // MARK: text side

    /// The token ids of a class name (as the tokenizer cases it); an error when the vocabulary knows none of them.
    func ids(of name: String) throws -> [Int32] {
        if let known = nameIDs[name] { return known }
        let ids = tokenizer.tokenIDs(name)
        guard !ids.isEmpty, ids.contains(where: { $0 != tokenizer.specials.unknown }) else {
            throw ConfigError("\(kind.rawValue): the class name '\(name)' has no word the CLIP's vocabulary knows (ids: \(ids)); "
                              + "a prompt cannot be built for it")
        }
        let withVectors = kind != .pspg || config.nameInPrompt
        let room = network.clip.config.contextLength - 2 - (withVectors ? config.promptLength : 0)
        guard ids.count <= room else {  // PsPG reads the bare name ([CLS] name [SEP]); CoOp puts its context first
            throw ConfigError("\(kind.rawValue): the class name '\(name)' takes \(ids.count) word pieces; "
                              + (withVectors ? "with \(config.promptLength) prompt vectors " : "")
                              + "the CLIP's \(network.clip.config.contextLength)-token context leaves room for \(room)")
        }
        nameIDs[name] = ids
        return ids
    }

    /// The text feature (E) of the bare class name, [CLS] name [SEP], unnormalised.
    func feature(of name: String) throws -> Tensor {
        if let known = nameFeatures[name] { return known }
        let sequence = [start] + (try ids(of: name)) + [end]
        let f = try Autograd.withoutGrad {
            try network.clip.textFeatures(IndexTensor(shape: [1, sequence.count], values: sequence), padding: nil)
                .reshaped([network.clip.config.embedDim])
        }
        nameFeatures[name] = f
        return f
    }

    /// The start and end tokens every prompt is framed with ([CLS] / [SEP], or CLIP's <|startoftext|> /
    /// <|endoftext|>, where a causal tower reads).
    var start: Int32 { tokenizer.specials.start }
    var end: Int32 { tokenizer.specials.end }

    /// Token embeddings (n, textWidth) of ids, from the frozen table.
    func embeddings(_ ids: [Int32]) throws -> Tensor {
        try network.clip.text.tokenEmbedding(IndexTensor(shape: [ids.count], values: ids))
    }

    /// Encodes prompt sequences (N, T, width) of which the first `lengths[i]` positions are real, with
    /// [SEP] at lengths[i] - 1 -> L2-normalised text features (N, E).
    func encode(_ sequences: Tensor, lengths: [Int]) throws -> Tensor {
        let (n, t) = (sequences.shape[0], sequences.shape[1])
        let padding: Tensor? = lengths.allSatisfy({ $0 == t }) ? nil
            : Tensor(shape: [n, t], values: lengths.flatMap { l in (0..<t).map { $0 < l ? Float(1) : 0 } })
        return try network.clip.textFeatures(embeddings: sequences, padding: padding, endOfText: lengths.map { $0 - 1 }).l2Normalized()
    }

    /// [CLS] vectors... [SEP] for each row of `vectors` (N, L, width) -> (N, L + 2, width).
    func wrap(_ vectors: Tensor) throws -> Tensor {
        let (n, w) = (vectors.shape[0], vectors.shape[2])
        let cls = try embeddings([start]).reshaped([1, 1, w]).expanded(to: [n, 1, w])
        let sep = try embeddings([end]).reshaped([1, 1, w]).expanded(to: [n, 1, w])
        return try Tensor.concat([cls, vectors, sep], axis: 1)
    }

    /// CoOp's prompts: [CLS] context [name pieces] [SEP] [PAD]... per class -> features (C, E). `context` is
    /// (L, width), shared by the classes, or (C, L, width), one per class (PsPG's with nameInPrompt).
    func contextPrompts(_ context: Tensor, classes: [String]) throws -> Tensor {
        let w = context.shape[context.rank - 1]
        let names = try classes.map { try ids(of: $0) }
        let lengths = names.map { config.promptLength + $0.count + 2 }
        let t = lengths.max() ?? 0
        let rows = try names.enumerated().map { c, ids -> Tensor in
            let tail = ids + [end] + [Int32](repeating: tokenizer.specials.pad, count: t - config.promptLength - ids.count - 2)
            let vectors = context.rank == 2 ? context : try context.slice(axis: 0, c, c + 1).reshaped([config.promptLength, w])
            return try Tensor.concat([embeddings([start]), vectors, embeddings(tail)], axis: 0).reshaped([1, t, w])
        }
        return try encode(Tensor.concat(rows, axis: 0), lengths: lengths)
    }

    /// The prompts' text features for `classes`: positive and negative (each (C, E), L2-normalised; CoOp
    /// has no negative), and PsPG's positive prompt vectors (C, L, width) for pair prompts.
    func prompts(classes: [String], images: Tensor?, step: Int, seed: UInt64) throws
        -> (positive: Tensor, negative: Tensor?, vectors: Tensor?) {
        let c = classes.count
        switch kind {
        case .pspg:
            guard let images, let positiveDecoder = network.positiveDecoder, let negativeDecoder = network.negativeDecoder else {
                throw TensorError.invalidArgument(op: "pspg", detail: "PsPG's decoders need the batch's image features")
            }
            let names = try Tensor.stack(classes.map { try feature(of: $0) }, axis: 0)  // (C, E)
            let stream = RNG.mix64(UInt64(bitPattern: Int64(step)))
            let positive = try positiveDecoder(classFeatures: names, images: images, dropoutKey: RandomKey(seed: seed, stream: stream ^ 0x9e37_79b9))
            let negative = try negativeDecoder(classFeatures: names, images: images, dropoutKey: RandomKey(seed: seed, stream: stream ^ 0x7f4a_7c15))
            if config.nameInPrompt {
                return (try contextPrompts(positive, classes: classes), try contextPrompts(negative, classes: classes), positive)
            }
            let l = config.promptLength
            let features = try encode(wrap(Tensor.concat([positive, negative], axis: 0)), lengths: [Int](repeating: l + 2, count: 2 * c))
            return (try features.slice(axis: 0, 0, c), try features.slice(axis: 0, c, 2 * c), positive)
        case .coop:
            return (try contextPrompts(network.context!, classes: classes), nil, nil)
        case .dualcoop:
            return (try contextPrompts(network.context!, classes: classes), try contextPrompts(network.negativeContext!, classes: classes), nil)
        }
    }

    /// PsPG's pair prompts [CLS] P⁺_j P⁺_k [SEP] for every class pair j < k (row-major) -> features (P, E).
    func pairPrompts(_ vectors: Tensor) throws -> Tensor {
        let pairs = PairCooccurrenceLoss.pairs(classes: vectors.shape[0])
        let left = try vectors.indexSelect(axis: 0, pairs.map(\.0)), right = try vectors.indexSelect(axis: 0, pairs.map(\.1))
        let joined = try wrap(Tensor.concat([left, right], axis: 1))
        return try encode(joined, lengths: [Int](repeating: joined.shape[1], count: pairs.count))
    }

    // MARK: image side

    /// images (b, ...) -> the global feature (b, E), unnormalised (the decoders' memory), and the image's
    /// scoring vector (b, E): with Spatial Fusion the sum of its gated, L2-normalised tokens (the
    /// normalised global feature first, then the dense positions), so that Σ_t ⟨f_t, T⟩ = ⟨Σ_t f_t, T⟩;
    /// without it the normalised global feature.
    func imageSide(_ images: Tensor) throws -> (global: Tensor, scoring: Tensor) {
        let (global, dense) = try Autograd.withoutGrad { try network.clip.imageTokens(images) }
        let normalized = try global.l2Normalized()
        guard let fusion = network.fusion else { return (global, normalized) }
        let b = global.shape[0], e = global.shape[1]
        let tokens = try Tensor.concat([normalized.reshaped([b, 1, e]), dense], axis: 1)
        guard tokens.shape[1] == PromptLearningModel.positions(network.clip.config) + 1 else {
            throw TensorError.shapeMismatch(op: "spatial_fusion", shapes: [tokens.shape], detail: "the image gives another number of tokens than the gate was built for")
        }
        return (global, try fusion(tokens).l2Normalized().sum(axis: 1))
    }

    /// Logits (b, C): s·(⟨v, T⁺⟩ − ⟨v, T⁻⟩) (the softmax over the pair is its sigmoid), or s·⟨v, T⟩ for CoOp.
    func logits(_ scoring: Tensor, positive: Tensor, negative: Tensor?) throws -> Tensor {
        let s = network.scale()
        let pos = try scoring.matmul(positive, transposeOther: true)
        guard let negative else { return try pos * s }
        return try (pos - scoring.matmul(negative, transposeOther: true)) * s
    }

    // MARK: training

    public func loss(_ batch: Batch, context: StepContext) throws -> (loss: Tensor, metrics: [String: Float]) {
        let communicator = context.communicator
        let (global, scoring) = try imageSide(batch.images)
        // The decoders attend over the whole global batch: every rank gathers every image feature (the
        // towers are frozen, so no gradient flows back through the gather) and writes the same prompts.
        let all = kind == .pspg ? try gatherRows(global, communicator) : nil
        let (positive, negative, vectors) = try prompts(classes: classNames, images: all, step: context.step, seed: context.seed)
        let logits = try self.logits(scoring, positive: positive, negative: negative)
        let labels = Tensor(shape: batch.labels.shape, values: zip(batch.labels.scalars, batch.labelMask.scalars).map { $1 == 1 ? $0 : -1 })
        // ASL is a sum over entries, so the ranks' sums add up to the one-process loss.
        let asl = try AsymmetricLoss.loss(logits: logits, labels: labels, gammaPositive: config.gammaPositive,
                                          gammaNegative: config.gammaNegative, clip: config.aslClip, reduction: .sum)
        var total = asl * config.aslWeight
        var metrics: [String: Float] = ["asl": try context.globalSum(asl.item), "scale": network.scale().item]
        // The ranking and pair terms couple the images of the global batch: each rank computes them whole
        // over gathered values (with gradient back to their rows) and takes a 1/N share.
        let ranks = Float(communicator.size)
        if config.loss == "ranking" || config.loss == "pair" || config.loss == "softPair" {
            let allLabels = Tensor(shape: [context.globalBatch, classNames.count], values: try communicator.allGather(labels.scalars))
            if config.loss == "ranking" {
                let rank = try RankingLoss.loss(probabilities: communicator.allGatherWithGradient(logits.sigmoid()), labels: allLabels)
                metrics["rank"] = rank.item
                total = try total + rank * (config.rankWeight / ranks)
            } else {
                guard let vectors else { throw ConfigError("\(kind.rawValue): the pair losses need PsPG's generated prompts") }
                let pairLogits = try scoring.matmul(pairPrompts(vectors), transposeOther: true) * network.scale()
                let pair = try PairCooccurrenceLoss.loss(pairLogits: communicator.allGatherWithGradient(pairLogits), labels: allLabels,
                                                         target: config.loss == "softPair" ? .soft : .binary)
                metrics["pair"] = pair.item
                total = try total + pair * (config.pairWeight / ranks)
            }
        }
        return (total, metrics)
    }

    /// Rows of every rank, in rank order, without gradient (ranks may hold different counts, some none).
    func gatherRows(_ x: Tensor, _ communicator: Communicator) throws -> Tensor {
        let e = network.clip.config.embedDim
        let values = communicator.size == 1 ? x.scalars : try communicator.allGatherVariable(x.scalars).values
        return Tensor(shape: [values.count / e, e], values: values)
    }

    // MARK: evaluation

    /// Any class name the CLIP's vocabulary can spell can be scored (prompts come from the name).
    public var scorableClasses: [String]? { nil }
    /// PsPG's prompts depend on the batch's images.
    public var scoresCoupleBatch: Bool { kind == .pspg }

    public func classLogits(_ batch: Batch, classes: [String], context: EvaluationContext) throws -> Tensor {
        let b = batch.count, e = network.clip.config.embedDim
        let side = b > 0 ? try imageSide(batch.images) : (global: Tensor.zeros([0, e]), scoring: Tensor.zeros([0, e]))
        let all = kind == .pspg ? try gatherRows(side.global, context.communicator) : nil
        let (positive, negative, _) = try prompts(classes: classes, images: all, step: 0, seed: context.seed)
        guard b > 0 else { return Tensor.zeros([0, classes.count]) }
        return try logits(side.scoring, positive: positive, negative: negative)
    }

    // The frozen CLIP itself, evaluated beside the learned prompts: fixed-prompt zero-shot and a linear
    // probe on its image embeddings (the baselines of PsPG's comparison), with its own vocabulary.
    public var textEncoding: TextEncoding? { TextEncoding(tokenizer: tokenizer, contextLength: network.clip.config.contextLength) }
    public func imageFeatures(_ images: Tensor) throws -> Tensor { try network.clip.embedImages(images) }
    public func imageEmbeddings(_ images: Tensor) throws -> Tensor { try network.clip.embedImages(images) }
    public func textEmbeddings(_ text: TextBatch) throws -> Tensor { try network.clip.embedText(text.ids, padding: text.padding) }
    public var similarityScale: Float { Autograd.withoutGrad { network.clip.logitScale().item } }

    // MARK: registration

    public static let registration = makeRegistration(.pspg, summary: "PsPG: GRU-generated class prompts on a frozen CLIP, multi-label and unseen findings")
    public static let coopRegistration = makeRegistration(.coop, summary: "CoOp: one learned prompt context shared by all classes, on a frozen CLIP")
    public static let dualCoOpRegistration = makeRegistration(.dualcoop, summary: "DualCoOp: learned positive and negative prompt contexts, on a frozen CLIP")

    /// Defaults of each kind: PsPG as the official code; CoOp with ASL on the global feature; DualCoOp
    /// with ASL and Carina's Spatial Fusion in place of its region aggregation.
    public static func defaults(_ kind: Kind) -> PromptLearningConfig {
        var c = PromptLearningConfig()
        switch kind {
        case .pspg: break
        case .coop: (c.loss, c.spatialFusion) = ("asl", false)
        case .dualcoop: c.loss = "asl"
        }
        return c
    }

    static func makeRegistration(_ kind: Kind, summary: String) -> MethodRegistration {
        let test = #"{"clip": {"patchSize": 4, "visionWidth": 16, "visionDepth": 1, "visionHeads": 2, "textWidth": 16, "textDepth": 1, "textHeads": 2, "embedDim": 8}, "#
            + #""promptLength": \#(kind == .pspg ? 3 : 1), "decoderHidden": 8, "decoderHeads": 2}"#  // phantom names take up to 13 pieces of a 120-token vocabulary
        return MethodRegistration(name: kind.rawValue, summary: summary, testModel: test) { section, context in
            try build(kind, section, context)
        }
    }

    static func build(_ kind: Kind, _ section: ConfigSection, _ context: MethodContext) throws -> PromptLearningMethod {
        let source = section.source
        var defaults = PromptLearningMethod.defaults(kind)
        defaults.clip.imageSize = context.imageSize
        defaults.clip.imageChannels = context.imageChannels
        defaults.clip.contextLength = context.contextLength
        defaults.clip.vocabSize = context.vocabularySize
        var tokenizer: (any TextTokenizer)? = context.tokenizer
        var origin = "this run's vocabulary"
        let first = try section.decode(PromptLearningConfig.self, defaults: defaults)
        if isPublic(first.clipFrom) {
            // OpenAI CLIP (or any open_clip / HF CLIPModel) as the frozen backbone, with its tokenizer.
            let (imported, found) = try CLIPMethod.huggingFaceDefaults(first.clipFrom, over: defaults.clip, source: source)
            guard imported.textArchitecture == .clip else {
                throw ConfigError("\(source): model.clipFrom: \(first.clipFrom) is a report encoder only; the frozen CLIP needs both towers "
                                  + "(an open_clip or Hugging Face CLIPModel directory, or a CLIP run)")
            }
            defaults.clip = imported
            (tokenizer, origin) = (found, first.clipFrom)
        } else if !first.clipFrom.isEmpty {
            guard let readRun = context.readRun else { throw ConfigError("\(source): model.clipFrom cannot be read here (no run files)") }
            let run: SourceRun
            do { run = try readRun(first.clipFrom) } catch {
                throw ConfigError("\(source): model.clipFrom '\(first.clipFrom)': \(error)")
            }
            guard run.method == "clip" else {
                throw ConfigError("\(source): model.clipFrom: \(run.checkpoint) is a '\(run.method)' run, not a CLIP run: it has no text tower to prompt")
            }
            var clipDefaults = CLIPConfig()
            (clipDefaults.imageSize, clipDefaults.imageChannels, clipDefaults.contextLength) = (run.imageSize, run.imageChannels, run.contextLength)
            if let found = run.tokenizer { clipDefaults.vocabSize = found.vocabularySize }  // a recorded config states it; a bare one takes it from the data
            defaults.clip = try run.model.decode(CLIPConfig.self, defaults: clipDefaults)
            guard let found = run.tokenizer else {
                throw ConfigError("\(source): model.clipFrom: no vocabulary found for \(run.checkpoint) (neither its data.vocabulary nor vocab.txt in its run directory)")
            }
            guard found.vocabularySize == defaults.clip.vocabSize else {
                throw ConfigError("\(source): model.clipFrom: the vocabulary \(run.vocabularyPath ?? "") has \(found.vocabularySize) tokens but the CLIP's "
                                  + "text tower has \(defaults.clip.vocabSize)")
            }
            (tokenizer, origin) = (found, run.vocabularyPath ?? "the CLIP's vocabulary")
        }
        let config = try section.decode(PromptLearningConfig.self, defaults: defaults)
        if !config.clipFrom.isEmpty, config.clip != defaults.clip {
            throw ConfigError("\(source): model.clip differs from the CLIP run at \(config.clipFrom) (\(differences(config.clip, defaults.clip))); "
                              + "leave model.clip out: the run's sizes are used")
        }
        let c = config.clip
        if config.clipFrom.isEmpty, !c.initFrom.isEmpty {
            throw ConfigError("\(source): model.clip.initFrom: the frozen CLIP comes from a CLIP run (model.clipFrom); train one with model.initFrom first")
        }
        try c.validate(source: config.clipFrom.isEmpty ? source : "\(source) (model.clipFrom's recorded config)", path: "model.clip")
        guard c.imageSize == context.imageSize, c.imageChannels == context.imageChannels else {
            throw ConfigError("\(source): the CLIP\(config.clipFrom.isEmpty ? "" : " at \(config.clipFrom)") takes \(c.imageSize)-px images with "
                              + "\(c.imageChannels) channel(s); data.imageSize is \(context.imageSize) with \(context.imageChannels)")
        }
        guard PromptLearningConfig.losses.contains(config.loss) else {
            throw ConfigError("\(source): model.loss must be one of \(PromptLearningConfig.losses.joined(separator: ", ")); got '\(config.loss)'")
        }
        guard kind == .pspg || !["pair", "softPair"].contains(config.loss) else {
            throw ConfigError("\(source): model.loss '\(config.loss)' needs PsPG's generated prompts; \(kind.rawValue) trains with asl or ranking")
        }
        guard (1...(c.contextLength - 2)).contains(config.promptLength), (1...16384).contains(config.decoderHidden),
              (1...config.decoderHidden).contains(config.decoderHeads), config.decoderHidden % config.decoderHeads == 0 else {
            throw ConfigError("\(source): model.promptLength (\(config.promptLength)) must be in 1...\(c.contextLength - 2) (the CLIP's context less "
                              + "[CLS] and [SEP]); decoderHidden (\(config.decoderHidden)) in 1...16384, divisible by decoderHeads (\(config.decoderHeads))")
        }
        guard kind == .pspg || !config.nameInPrompt else {
            throw ConfigError("\(source): model.nameInPrompt is PsPG's option; \(kind.rawValue)'s prompts always end in the class name")
        }
        guard config.dropout >= 0, config.dropout < 1 else { throw ConfigError("\(source): model.dropout must be in [0, 1)") }
        let needed = (config.loss == "pair" || config.loss == "softPair" ? 2 : 1) * config.promptLength + 2
        guard kind != .pspg || needed <= c.contextLength else {
            throw ConfigError("\(source): model.promptLength \(config.promptLength) makes \(needed)-token prompts; the CLIP's context is \(c.contextLength)")
        }
        guard !context.classNames.isEmpty else { throw ConfigError("\(source): \(kind.rawValue) needs a dataset with labelled findings") }
        guard let tokenizer else { throw ConfigError("\(source): \(kind.rawValue) needs the CLIP's vocabulary to read class names") }
        do {
            return try PromptLearningMethod(kind: kind, config: config, classNames: context.classNames, tokenizer: tokenizer, seed: context.seed)
        } catch let error as ConfigError {
            throw ConfigError("\(source): \(error.description) (vocabulary: \(origin))")
        }
    }

    /// Whether `clipFrom` names public weights (openclip:DIR, hf:DIR) rather than a CLIP run.
    static func isPublic(_ clipFrom: String) -> Bool {
        clipFrom.hasPrefix(CLIPMethod.openCLIPPrefix) || clipFrom.hasPrefix(CLIPMethod.huggingFacePrefix)
    }

    /// "key a vs b" for the fields where two CLIP configs differ.
    static func differences(_ a: CLIPConfig, _ b: CLIPConfig) -> String {
        zip(Mirror(reflecting: a).children, Mirror(reflecting: b).children).compactMap { x, y in
            "\(x.value)" == "\(y.value)" ? nil : "\(x.label ?? "?") \(x.value) here, \(y.value) there"
        }.joined(separator: "; ")
    }
}
