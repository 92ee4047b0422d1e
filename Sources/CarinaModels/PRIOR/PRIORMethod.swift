// PRIOR as a training method (methods/PRIOR.md §1, §3): three stages — alignment (global InfoNCE, local
// image SimSiam, intra-report sentence contrast), prototypes (sentences through the prototype bank, its
// L1 loss), reconstruction (+ image and sentence decoders, Hungarian matching of generated sentences to the
// report's prototypes, KL, generated-report alignment). Every batch-coupled term runs over the global
// batch (gathered with gradient, labels at the global row offset: R4), every sum is divided by its global
// count, and every random draw is keyed by (seed, step, global row), so N ranks train exactly like one
// process. Reports with no sentence (or, with `sentenceOverflow: skip`, too many) are left out of the
// step's losses and counted. Registered as `method: prior`.
import CarinaData
import CarinaDist
import CarinaNN
import Foundation

public final class PRIORMethod: TrainingMethod, EmbedsImagesAndTexts, ScoresImageClasses {
    public let network: PRIORModel
    public var config: PRIORConfig { network.config }
    public var model: Module { network }
    /// The run's vocabulary: zero-shot prompts are read with it.
    public let tokenizer: WordPieceTokenizer?

    public static let stages = ["alignment", "prototypes", "reconstruction"]
    public var stageNames: [String]? { PRIORMethod.stages }

    /// 0, 1 or 2: the running stage by name (the plan only runs these names).
    static func stageIndex(_ context: StepContext) -> Int { PRIORMethod.stages.firstIndex(of: context.stage.name) ?? 0 }

    public var requirements: BatchRequirements { BatchRequirements(sentences: .init(shuffle: true)) }

    /// With `imageInitFrom: torchvision:FILE`: the ResNet from torchvision's weights (`resnet.*` of the name
    /// map placed at `visual.*`); the attention pool and everything else start fresh.
    public var weightSources: [WeightSource] {
        let c = network.config
        var sources: [WeightSource] = []
        if c.imageInitFrom.hasPrefix(CLIPMethod.torchvisionPrefix) {
            sources.append(WeightSource(path: String(c.imageInitFrom.dropFirst(CLIPMethod.torchvisionPrefix.count)),
                                        format: .torchvisionResNet(blocks: c.resnetBlocks, imageChannels: c.imageChannels),
                                        rename: [.init(from: "resnet.", to: "visual.")], purpose: "the image encoder"))
        }
        if c.textInitFrom.hasPrefix(CLIPMethod.huggingFacePrefix) {
            sources.append(WeightSource(path: String(c.textInitFrom.dropFirst(CLIPMethod.huggingFacePrefix.count)),
                                        format: .huggingFaceText(layers: c.textDepth, pooler: false), rename: [.init(from: "", to: "text.")],
                                        purpose: "the report encoder"))
        }
        return sources
    }

    /// With `textInitFrom`: reports and prompts are read with the BERT directory's WordPiece.
    public var textEncoding: TextEncoding? {
        network.config.textInitFrom.isEmpty ? nil : tokenizer.map { TextEncoding(tokenizer: $0, contextLength: network.config.contextLength) }
    }

    public init(config: PRIORConfig, seed: UInt64, tokenizer: WordPieceTokenizer? = nil) {
        network = PRIORModel(config: config, seed: seed)
        self.tokenizer = tokenizer
    }

    /// Weight decay on every parameter (`exclude_bn_bias: False`), at the stage's learning rate.
    public func parameterGroup(_ parameter: NamedParameter) -> ParameterGroup { ParameterGroup(decays: true) }

    /// Records the stage, so evaluation of the checkpoint pools prototypes once stage 2 has run.
    public func stageStarted(_ stage: StageInfo) throws {
        network.trainedStage.tensor.pointer[0] = Float(stage.index)
    }

    /// Whether sentences go through the prototype bank at evaluation: once stage 2 has trained.
    var evaluatesWithPrototypes: Bool { network.trainedStage.tensor.pointer[0] >= 1 }

    // MARK: the step

    /// Named loss terms (each already divided by its global count) and counts for the log.
    struct Terms {
        var global: Tensor, localImage: Tensor, localText: Tensor
        var prototype: Tensor?, imageReconstruction: Tensor?, sentenceGeneration: Tensor?, kl: Tensor?, generatedAlignment: Tensor?
        var skipped: Float, sentences: Float
    }

    /// A random key for draw site `site` of this step, rows at the global row offset.
    func key(_ context: StepContext, _ site: String) -> RandomKey? {
        guard context.training else { return nil }
        return RandomKey(seed: context.seed, stream: RNG.streamID("prior." + site, [context.step]), firstRow: context.rowOffset)
    }

    /// Each row's sentence count as used (capped) and whether it takes part in the step.
    func sentencePlan(_ counts: [Int], stage: Int) -> (used: [Int], kept: [Bool]) {
        var cap = config.maxSentences > 0 ? config.maxSentences : Int.max
        if stage >= 2 { cap = Swift.min(cap, config.queries) }
        let used = counts.map { Swift.min($0, cap) }
        let kept = counts.map { count in
            count > 0 && !(config.sentenceOverflow == "skip" && config.maxSentences > 0 && count > config.maxSentences)
        }
        return (used, kept)
    }

    func terms(_ batch: Batch, context: StepContext) throws -> Terms {
        guard let text = batch.text, let sentenceIDs = text.sentenceIDs, let counts = text.sentenceCounts else {
            throw TensorError.invalidArgument(op: "prior", detail: "the batch has no sentence-level report tokens")
        }
        let stage = PRIORMethod.stageIndex(context)
        let b = batch.count, e = config.embedDim
        let (used, kept) = sentencePlan(counts, stage: stage)
        let keptRows = (0..<b).filter { kept[$0] }
        var totals = [Float(keptRows.count), Float(keptRows.reduce(0) { $0 + used[$1] }), Float(b - keptRows.count)]
        try context.communicator.allReduceSum(&totals)
        let (keptGlobal, sentencesGlobal) = (Swift.max(totals[0], 1), Swift.max(totals[1], 1))
        let keptAll = try context.communicator.allGatherVariable(kept.map { $0 ? Float(1) : 0 }).values.map { $0 == 1 }

        // Encoders: global image and report features, local image tokens, sentences (through the bank from stage 2).
        let image = try network.encodeImages(batch.images)
        let (raw, mask) = try network.sentenceFeatures(ids: text.ids, padding: text.padding, sentenceIDs: sentenceIDs,
                                                         counts: zip(used, kept).map { $1 ? $0 : 0 })
        let s = raw.shape[1]
        let sentenceMask = try mask.reshaped([b, s, 1]).expanded(to: [b, s, e])  // 1 on the real sentences of kept rows
        var sentences = raw
        var prototype: Tensor? = nil, bankLogits: Tensor? = nil
        if stage >= 1 {
            let (output, logits) = try network.prototypes(raw, temperature: config.gumbelTemperature, key: key(context, "spb"))
            prototype = try ((output - raw).abs() * sentenceMask).sum() / (sentencesGlobal * Float(e))
            (sentences, bankLogits) = (output, logits)
        }
        let reportGlobal = try network.sentencePool(sentences, mask: mask)

        // Global alignment over the global batch.
        let scale = network.logitScale()
        let imageGlobal = try image.global.l2Normalized(), textGlobal = try reportGlobal.l2Normalized()
        let global = try PRIORMethod.maskedInfoNCE(imageGlobal, textGlobal, communicator: context.communicator, kept: kept, keptAll: keptAll,
                                                   rowOffset: context.rowOffset, scale: scale, divisor: keptGlobal)

        // Local alignment: SimSiam between image tokens and the text content they gather; intra-report
        // contrast between sentences and the image content they gather.
        let lam = try network.local(image: image.local, sentences: sentences, mask: mask)
        let rowWeights = Tensor(shape: [b], values: kept.map { $0 ? 1 : 0 })
        func cosine(_ x: Tensor, _ y: Tensor) throws -> Tensor { try (x.l2Normalized() * y.l2Normalized()).sum(axis: -1).mean(axis: 1) }  // (B)
        let simsiam = try (cosine(network.predictor(image.local), lam.imageContext.detached())
            + cosine(network.predictor(lam.imageContext), image.local.detached())) * -0.5
        let localImage = try (simsiam * rowWeights).sum() / keptGlobal
        let localText = try PRIORMethod.intraReportContrast(sentences: sentences, gathered: lam.textContext, used: zip(used, kept).map { $1 ? $0 : 0 },
                                                            scale: network.localLogitScale()) / keptGlobal

        var terms = Terms(global: global, localImage: localImage, localText: localText, prototype: prototype, skipped: totals[2], sentences: totals[1])
        guard stage >= 2 else { return terms }

        // Stage 3: reconstruct the image from its tokens and the text they gathered.
        let g = config.grid
        func spatial(_ tokens: Tensor) throws -> Tensor { try tokens.transposed(1, 2).reshaped([b, e, g, g]) }  // (B, N, E) -> (B, E, g, g)
        var imageMap = try spatial(image.local)
        if let k = key(context, "image-decoder-dropout"), config.imageDecoderDropout > 0 {
            let channelMask = try Tensor.ones([b, e, 1, 1]).dropout(config.imageDecoderDropout, training: true, key: k)
            imageMap = try imageMap * channelMask
        }
        let reconstruction = try network.imageDecoder(Tensor.concat([imageMap, spatial(lam.imageContext)], axis: 1))
        let pixels = batch.images.count / Swift.max(b, 1)
        var imageReconstruction = Tensor.zeros([])
        if !keptRows.isEmpty {
            imageReconstruction = try (reconstruction.indexSelect(axis: 0, keptRows) - batch.images.indexSelect(axis: 0, keptRows)).abs().sum()
                / (keptGlobal * Float(pixels))
        }


        // Generate Q sentences from the image tokens; match them to the report's prototypes (zero-padded to
        // Q) by the Hungarian method on L1 costs; L1 to the matched targets, KL to the real sentences'
        // assignments, and the generated report aligned with the real one.
        let q = config.queries
        let keys = FusionDropoutKeys(seed: context.seed, step: context.step, pass: 7, firstRow: context.rowOffset, training: context.training)
        let generated = try network.sentenceDecoder(image: image.local, keys: keys)  // (B, Q, E)
        let targets = try Tensor.concat([sentences * sentenceMask] + (s < q ? [Tensor.zeros([b, q - s, e])] : []), axis: 1)  // (B, Q, E)
        let rowOf = PRIORMethod.matching(generated: generated.scalars, targets: targets.scalars, rows: b, queries: q, width: e)
        let order = (0..<(b * q)).map { ($0 / q) * q + rowOf[$0] }
        let matched = try generated.reshaped([b * q, e]).indexSelect(axis: 0, order).reshaped([b, q, e])  // row j faces target j
        var sentenceGeneration = Tensor.zeros([]), kl = Tensor.zeros([])
        if !keptRows.isEmpty {
            sentenceGeneration = try (matched.indexSelect(axis: 0, keptRows) - targets.indexSelect(axis: 0, keptRows)).abs().sum()
                / (keptGlobal * Float(q * e))
        }
        let real = (0..<b).flatMap { i in kept[i] ? (0..<used[i]).map { i * q + $0 } : [] }
        let realInBank = (0..<b).flatMap { i in kept[i] ? (0..<used[i]).map { i * s + $0 } : [] }
        if !real.isEmpty, let bankLogits {
            let predicted = try matched.reshaped([b * q, e]).indexSelect(axis: 0, real).matmul(network.prototypes.codebook, transposeOther: true)
            let truth = try bankLogits.reshaped([b * s, config.prototypes]).indexSelect(axis: 0, realInBank)
            let logTruth = try truth.logSoftmax(axis: -1)
            kl = try (logTruth.exp() * (logTruth - predicted.logSoftmax(axis: -1))).sum() / sentencesGlobal
        }
        let generatedMask = Tensor(shape: [b, q], values: (0..<(b * q)).map { kept[$0 / q] && $0 % q < used[$0 / q] ? 1 : 0 })
        let generatedSentences = try network.prototypes(matched * generatedMask.reshaped([b, q, 1]), temperature: config.gumbelTemperature,
                                                        key: key(context, "spb-generated")).output
        let generatedPooled = try network.sentencePool(generatedSentences, mask: generatedMask)
        let generatedGlobal = try generatedPooled.l2Normalized()
        let generatedAlignment = try PRIORMethod.maskedInfoNCE(generatedGlobal, textGlobal, communicator: context.communicator, kept: kept,
                                                               keptAll: keptAll, rowOffset: context.rowOffset, scale: scale, divisor: keptGlobal)
        (terms.imageReconstruction, terms.sentenceGeneration, terms.kl, terms.generatedAlignment) =
            (imageReconstruction, sentenceGeneration, kl, generatedAlignment)
        return terms
    }

    public func loss(_ batch: Batch, context: StepContext) throws -> (loss: Tensor, metrics: [String: Float]) {
        let t = try terms(batch, context: context)
        let stage = PRIORMethod.stageIndex(context)
        let c = config
        var total = try t.global * (stage >= 2 ? c.reconstructionGlobalWeight : c.globalWeight) + t.localImage * c.localImageWeight
            + t.localText * c.localTextWeight
        var named: [(String, Tensor)] = [("global", t.global), ("local_image", t.localImage), ("local_text", t.localText)]
        for (name, term, weight) in [("prototype", t.prototype, c.prototypeWeight), ("image_reconstruction", t.imageReconstruction, c.imageReconstructionWeight),
                                     ("sentence_generation", t.sentenceGeneration, c.sentenceGenerationWeight), ("kl", t.kl, c.klWeight),
                                     ("generated_alignment", t.generatedAlignment, c.generatedAlignmentWeight)] {
            guard let term else { continue }
            total = try total + term * weight
            named.append((name, term))
        }
        var values = named.map { $0.1.item }
        try context.communicator.allReduceSum(&values)
        var metrics = Dictionary(uniqueKeysWithValues: zip(named.map(\.0), values))
        metrics["skipped_reports"] = t.skipped
        metrics["sentences"] = t.sentences
        metrics["logit_scale"] = network.logitScale().item
        return (total, metrics)
    }

    /// Symmetric InfoNCE of this rank's rows (a, b) against every rank's (gathered with gradient), targets
    /// at the global row offset; rows left out of the step are neither anchors nor negatives. The sum is
    /// divided by 2 × `divisor` (the global count of rows taking part).
    public static func maskedInfoNCE(_ a: Tensor, _ b: Tensor, communicator: Communicator, kept: [Bool], keptAll: [Bool], rowOffset: Int,
                              scale: Tensor, divisor: Float) throws -> Tensor {
        let rows = a.shape[0]
        let allA = try communicator.allGatherWithGradient(a), allB = try communicator.allGatherWithGradient(b)
        let n = allA.shape[0]
        let columns = Tensor(shape: [1, n], values: keptAll.map { $0 ? 0 : -1e9 })
        var pick = [Float](repeating: 0, count: rows * n)
        for i in 0..<rows where kept[i] { pick[i * n + rowOffset + i] = 1 }
        let weights = Tensor(shape: [rows, n], values: pick)
        let forward = try (a.matmul(allB, transposeOther: true) * scale + columns).logSoftmax(axis: -1)
        let backward = try (b.matmul(allA, transposeOther: true) * scale + columns).logSoftmax(axis: -1)
        return try ((forward + backward) * weights).sum() / (-2 * divisor)
    }

    /// The intra-report contrast summed over rows: per row, InfoNCE both ways between its sentences and the
    /// image content each sentence gathered (other sentences of the same report are the negatives), the
    /// mean over its `used` sentences; rows with none add 0.
    public static func intraReportContrast(sentences: Tensor, gathered: Tensor, used: [Int], scale: Tensor) throws -> Tensor {
        let (b, s) = (sentences.shape[0], sentences.shape[1])
        let a = try sentences.l2Normalized(), g = try gathered.l2Normalized()
        var bias = [Float](repeating: 0, count: b * s * s), pick = [Float](repeating: 0, count: b * s * s)
        for i in 0..<b {
            for r in 0..<s {
                for c in 0..<s where c >= used[i] { bias[(i * s + r) * s + c] = -1e9 }
                if r < used[i] { pick[(i * s + r) * s + r] = 1 / Float(used[i]) }
            }
        }
        let columns = Tensor(shape: [b, s, s], values: bias), weights = Tensor(shape: [b, s, s], values: pick)
        let forward = try (g.matmul(a, transposeOther: true) * scale + columns).logSoftmax(axis: -1)
        let backward = try (a.matmul(g, transposeOther: true) * scale + columns).logSoftmax(axis: -1)
        return try ((forward + backward) * weights).sum() * -0.5
    }

    /// For each (row, target j), the generated row matched to target j: the Hungarian assignment on the
    /// L1 distances between the Q generated vectors and the Q targets (padding included, as the official
    /// code), inverted so target order is kept (the fix of R2).
    public static func matching(generated: [Float], targets: [Float], rows b: Int, queries q: Int, width e: Int) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(b * q)
        for i in 0..<b {
            var cost = [Double](repeating: 0, count: q * q)
            for r in 0..<q {
                let gr = (i * q + r) * e
                for c in 0..<q {
                    let tc = (i * q + c) * e
                    var d: Float = 0
                    for k in 0..<e { d += Swift.abs(generated[gr + k] - targets[tc + k]) }
                    cost[r * q + c] = Double(d)
                }
            }
            out += Hungarian.inverse(Hungarian.assign(cost: cost, rows: q, columns: q))
        }
        return out
    }

    // MARK: evaluation

    /// The attention-pooled image feature (B, C), as CLIP's ResNet probe reads it.
    public func imageFeatures(_ images: Tensor) throws -> Tensor { try network.encodeImages(images).pooled }

    public func imageEmbeddings(_ images: Tensor) throws -> Tensor { try network.encodeImages(images).global.l2Normalized() }

    /// The report feature: sentence features (through the bank, deterministically, once stage 2 trained)
    /// attention-pooled. The batch carries sentence ids (the method's requirements ask for them).
    public func textEmbeddings(_ text: TextBatch) throws -> Tensor {
        let (sentences, mask) = try evaluationSentences(text)
        return try network.sentencePool(sentences, mask: mask).l2Normalized()
    }

    func evaluationSentences(_ text: TextBatch) throws -> (Tensor, Tensor) {
        guard let ids = text.sentenceIDs, let given = text.sentenceCounts else {
            throw TensorError.invalidArgument(op: "prior", detail: "PRIOR reads reports by sentence: the text batch has no sentence ids")
        }
        let counts = given.map { config.maxSentences > 0 ? Swift.min($0, config.maxSentences) : $0 }
        var (sentences, mask) = try network.sentenceFeatures(ids: text.ids, padding: text.padding, sentenceIDs: ids, counts: counts)
        if evaluatesWithPrototypes { sentences = try network.prototypes(sentences, temperature: config.gumbelTemperature, key: nil).output }
        return (sentences, mask)
    }

    public var similarityScale: Float { network.logitScale().item }

    /// Any finding can be scored: its prompt ("{} is observed") is read as one sentence.
    public var scorableClasses: [String]? { nil }

    /// PRIOR's zero-shot score (§5): softmax over classes of the scaled global similarity plus
    /// `localScoreWeight` × softmax of the local score (the mean of both sigmoid maps between the image
    /// tokens and the prompt's sentence), as a logit of that sum over 1 + weight (so the sigmoid of the
    /// returned value is a probability, summing to 1 over the classes). The prompt's sentence averages its
    /// word tokens only, without [CLS] or [SEP] (the fix of R8), and no Gumbel noise is drawn.
    public func classLogits(_ batch: Batch, classes: [String], context: EvaluationContext) throws -> Tensor {
        guard let tokenizer else { throw TensorError.invalidArgument(op: "prior", detail: "zero-shot scoring needs the run's vocabulary") }
        let c = classes.count, b = batch.count, e = config.embedDim
        let prompts = tokenizer.sentenceBatch(classes.map { config.zeroShotPrompt.replacingOccurrences(of: "{}", with: $0) }, contextLength: config.contextLength)
        let (sentences, mask) = try evaluationSentences(prompts)  // (C, 1, E)
        let promptGlobal = try network.sentencePool(sentences, mask: mask).l2Normalized()  // (C, E)
        let image = try network.encodeImages(batch.images)
        let global = try image.global.l2Normalized().matmul(promptGlobal, transposeOther: true) * network.logitScale()  // (B, C)
        // Local: each image's tokens against each prompt sentence, both maps' means.
        let n = image.local.shape[1]
        let tokens = try image.local.reshaped([b, 1, n, e]).expanded(to: [b, c, n, e]).reshaped([b * c, n, e])
        let promptSentences = try sentences.slice(axis: 1, 0, 1).reshaped([1, c, 1, e]).expanded(to: [b, c, 1, e]).reshaped([b * c, 1, e])
        let lam = try network.local(image: tokens, sentences: promptSentences, mask: Tensor.ones([b * c, 1]))
        let localScore = try ((lam.sentenceMap.mean(axes: [1, 2]) + lam.imageMap.mean(axes: [1, 2])) * 0.5).reshaped([b, c])
        let probability = try (global.softmax(axis: -1) + localScore.softmax(axis: -1) * config.localScoreWeight) / (1 + config.localScoreWeight)
        let p = probability.clamped(min: 1e-7, max: 1 - 1e-7)
        return try (p / (1 - p)).log()
    }

    public static let registration = MethodRegistration(
        name: "prior", summary: "PRIOR: sentence-level alignment, a sentence prototype bank and cross-modality reconstruction, in three stages",
        testModel: #"{"resnetKind": "basic", "resnetBlocks": [1, 1], "resnetWidth": 4, "poolHeads": 2, "textWidth": 16, "textDepth": 1, "textHeads": 2, "embedDim": 16, "sentencePoolHeads": 2, "prototypes": 8, "queries": 4, "sentenceDecoderLayers": 1, "sentenceDecoderHeads": 2, "imageDecoderChannels": [8, 8, 4]}"#
    ) { section, context in
        var defaults = PRIORConfig()
        (defaults.imageSize, defaults.imageChannels) = (context.imageSize, context.imageChannels)
        (defaults.contextLength, defaults.vocabSize) = (context.contextLength, context.vocabularySize)
        let source = section.source
        var tokenizer = context.tokenizer
        let first = try section.decode(PRIORConfig.self, defaults: defaults)
        if !first.textInitFrom.isEmpty {
            let text = try ImportedTextEncoder(first.textInitFrom, architectures: [.bert], needsMask: false, contextLength: defaults.contextLength,
                                               source: source, why: "PRIOR reads reports sentence by sentence with WordPiece, so its report encoder starts from BERT")
            text.apply(to: &defaults)
            tokenizer = text.tokenizer as? WordPieceTokenizer
        }
        let config = try section.decode(PRIORConfig.self, defaults: defaults)
        if !config.textInitFrom.isEmpty { try ImportedTextEncoder.check(config, defaults: defaults, from: config.textInitFrom, source: source) }
        try config.validate(source: source, path: "model")
        var mustMatch = [("imageSize", config.imageSize, context.imageSize), ("imageChannels", config.imageChannels, context.imageChannels),
                         ("contextLength", config.contextLength, context.contextLength)]
        if config.textInitFrom.isEmpty { mustMatch.append(("vocabSize", config.vocabSize, context.vocabularySize)) }
        for (key, value, data) in mustMatch where value != data {
            throw ConfigError("\(source): model.\(key) is \(value) but the data gives \(data); set it in the data section only")
        }
        return PRIORMethod(config: config, seed: context.seed, tokenizer: tokenizer)
    }
}
