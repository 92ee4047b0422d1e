// M3AE as a training method (methods/M3AE.md §3): three objectives per step, each its own fusion pass on
// the same batch — masked language modelling (masked report, whole image), masked image modelling
// (whole report, 25 % of the patches: only those and the class token go through the image encoder and
// the fusion), image-text matching (whole report, its own image or another sample's from the global
// batch, never its own). Every loss is a sum over this rank's items divided by the global count, so N
// ranks train exactly like one process. Evaluated by a linear probe on the image encoder's class token
// and by retrieval through the ITM head. Registered as `method: m3ae`.
import CarinaData
import CarinaDist
import CarinaNN

public final class M3AEMethod: TrainingMethod, EmbedsImagesAndTexts, ScoresImageTextPairs, MeasuresObjectives {
    public let network: M3AEModel
    public var config: M3AEConfig { network.config }
    public var model: Module { network }

    public var requirements: BatchRequirements {
        BatchRequirements(maskedTokens: .init(probability: config.mlmProbability, wholeWord: config.wholeWordMasking))
    }

    /// The CLIP run's vocabulary when the encoders start from one (reports are read with it).
    public let tokenizer: (any TextTokenizer)?

    public init(config: M3AEConfig, seed: UInt64, tokenizer: (any TextTokenizer)? = nil) {
        network = M3AEModel(config: config, seed: seed)
        self.tokenizer = tokenizer
    }

    /// With `initFrom`: the CLIP run's image and report encoders, by the same names; the ViT's positions
    /// resized bicubically when this run's images give another patch grid (M3AE's 224 → 288 px).
    public var weightSources: [WeightSource] {
        let c = config
        if !c.initFrom.isEmpty {
            return [WeightSource(path: c.initFrom, include: ["visual.", "text."], purpose: "the image and report encoders",
                                 resizedPositions: ["visual.positionEmbedding"])]
        }
        var sources: [WeightSource] = []
        if let scheme = [CLIPMethod.huggingFacePrefix, CLIPMethod.openCLIPPrefix].first(where: { c.imageInitFrom.hasPrefix($0) }) {
            // The CLIP's ViT through its name map, as a CLIP of this ViT's depth (later blocks are reported as not used).
            var tower = CLIPConfig()
            (tower.imageChannels, tower.visionDepth, tower.textDepth) = (c.imageChannels, c.visionDepth, 0)
            let format: WeightSource.Format = scheme == CLIPMethod.openCLIPPrefix ? .openCLIP(config: tower)
                : .huggingFaceCLIP(visionLayers: c.visionDepth, textLayers: 0, imageChannels: c.imageChannels)
            sources.append(WeightSource(path: String(c.imageInitFrom.dropFirst(scheme.count)), format: format, include: ["visual."],
                                        rename: [.init(from: "visual.", to: "visual.")], purpose: "the image encoder",
                                        resizedPositions: ["visual.positionEmbedding"]))
        }
        if c.textInitFrom.hasPrefix(CLIPMethod.huggingFacePrefix) {
            sources.append(WeightSource(path: String(c.textInitFrom.dropFirst(CLIPMethod.huggingFacePrefix.count)),
                                        format: .huggingFaceText(layers: c.textDepth, pooler: c.textPooler), rename: [.init(from: "", to: "text.")],
                                        purpose: "the report encoder"))
        }
        return sources
    }

    public var textEncoding: TextEncoding? { tokenizer.map { TextEncoding(tokenizer: $0, contextLength: config.contextLength) } }

    /// Fusion and heads at their factors of the learning rate; weight decay on matrices (Carina's rule),
    /// and on the vision tower's LayerNorm weights too with `decayVisionNorms` (the official code, M4).
    public func parameterGroup(_ p: NamedParameter) -> ParameterGroup {
        let top = String(p.name.split(separator: ".").first ?? "")
        let scale = M3AEModel.headModules.contains(top) ? config.headLearningRateScale
            : M3AEModel.fusionModules.contains(top) ? config.fusionLearningRateScale : 1
        let visionNorm = top == "visual" && p.name.hasSuffix(".weight") && p.tensor.rank == 1
        return ParameterGroup(learningRateScale: scale, decays: p.decays || (config.decayVisionNorms && visionNorm))
    }

    /// Which global rows are ITM positives and, for the others, whose image they are paired with: ⌊G/2⌋
    /// positives chosen by a permutation drawn from (seed, "itm", step); each negative's image is drawn
    /// uniformly from the G − 1 other rows (never its own — the official code could draw it, M3).
    public static func matchingPairs(globalBatch g: Int, seed: UInt64, step: Int) -> (partner: [Int], positive: [Bool]) {
        var rng = RNG(seed: seed, "itm", step)
        let order = rng.permutation(g)
        var positive = [Bool](repeating: false, count: g)
        for i in order.prefix(g / 2) { positive[i] = true }
        var partner = Array(0..<g)
        for i in 0..<g where !positive[i] && g > 1 {
            let j = rng.int(g - 1)
            partner[i] = j >= i ? j + 1 : j
        }
        return (partner, positive)
    }

    /// The three objectives on this rank's rows as sums (with gradient) and counts over those rows.
    struct Terms {
        var mlm: Tensor, masked: Float, mlmCorrect: Float
        var mim: Tensor, removed: Float
        var itm: Tensor, pairs: Float, itmCorrect: Float
    }

    func terms(_ batch: Batch, context: StepContext) throws -> Terms {
        guard let text = batch.text, let maskedIDs = text.maskedIDs, let maskLabels = text.maskLabels else {
            throw TensorError.invalidArgument(op: "m3ae", detail: "the batch has no masked report tokens")
        }
        let (b, t, w) = (batch.count, text.ids.shape[1], config.fusionWidth)
        func keys(_ pass: Int) -> FusionDropoutKeys {
            FusionDropoutKeys(seed: context.seed, step: context.step, pass: pass, firstRow: context.rowOffset, training: context.training)
        }
        let image = try network.imageTokens(batch.images)  // (B, 1 + N, W), shared by the MLM and ITM passes
        let report = try network.textTokens(text.ids, padding: text.padding)  // shared by the MIM and ITM passes

        // MLM: the masked report against the whole image; cross-entropy summed over the masked tokens.
        let labels = maskLabels.values
        let rows = labels.indices.filter { labels[$0] != -100 }
        let mlmText = try network.fuse(text: network.textTokens(maskedIDs, padding: text.padding), padding: text.padding, image: image, keys: keys(0)).text
        var mlm = Tensor.zeros([])
        var mlmCorrect: Float = 0
        if !rows.isEmpty {
            let logits = try network.mlmHead(mlmText.reshaped([b * t, w]).indexSelect(axis: 0, rows))
            let targets = rows.map { labels[$0] }
            mlm = try logits.crossEntropy(targets: targets, reduction: .sum)
            mlmCorrect = Float(zip(M3AEMethod.argmaxRows(logits), targets).filter { Int32($0) == $1 }.count)
        }

        // MIM: 25 % of the patches (per sample, by (seed, epoch, sample)) through encoder and fusion; the
        // image stream entering fusion layer `mimLayer` is decoded; squared error summed over removed patches.
        let n = network.visual.patchCount
        let masks = batch.indices.map { PatchMask.random(patches: n, ratio: config.maskRatio, seed: context.seed, epoch: context.epoch, sampleIndex: $0) }
        let keep = masks.map(\.keep)
        let visible = try network.imageTokens(batch.images, keep: keep)
        let depth = config.mimLayer < 0 ? config.fusionLayers : config.mimLayer
        let mimImage = try network.fuse(text: report, padding: text.padding, image: visible, keys: keys(1), layers: depth).image
        let prediction = try network.mimDecoder(mimImage, keep: keep)  // (B, N, p·p·C)
        var removed = [Float](repeating: 0, count: b * n)
        for (s, m) in masks.enumerated() { for i in m.masked { removed[s * n + i] = 1 } }
        let perPatch = try (prediction - network.pixelTargets(batch.images)).square().mean(axis: -1)  // (B, N)
        let mim = try (perPatch * Tensor(shape: [b, n], values: removed)).sum()

        // ITM: each report with its own image or another sample's from the global batch.
        let (partner, positive) = M3AEMethod.matchingPairs(globalBatch: context.globalBatch, seed: context.seed, step: context.step)
        let local = context.rowOffset..<(context.rowOffset + b)
        let allImages = try context.communicator.allGatherWithGradient(image)
        let paired = try allImages.indexSelect(axis: 0, local.map { partner[$0] })
        let fused = try network.fuse(text: report, padding: text.padding, image: paired, keys: keys(2))
        let matchLogits = try network.itmHead(network.pooled(text: fused.text, image: fused.image))  // (B, 2)
        let itm = try matchLogits.crossEntropy(targets: local.map { positive[$0] ? 1 : 0 }, reduction: .sum)
        let itmCorrect = Float(zip(M3AEMethod.argmaxRows(matchLogits), local).filter { ($0 == 1) == positive[$1] }.count)
        return Terms(mlm: mlm, masked: Float(rows.count), mlmCorrect: mlmCorrect, mim: mim, removed: removed.reduce(0, +),
                     itm: itm, pairs: Float(b), itmCorrect: itmCorrect)
    }

    /// Each objective is its sum over this rank's items divided by the global count of those items.
    public func loss(_ batch: Batch, context: StepContext) throws -> (loss: Tensor, metrics: [String: Float]) {
        let terms = try self.terms(batch, context: context)
        var counts = [terms.masked, terms.removed, terms.mlmCorrect, terms.itmCorrect]
        try context.communicator.allReduceSum(&counts)
        let (masked, removed) = (Swift.max(counts[0], 1), Swift.max(counts[1], 1))
        let (mlm, mim, itm) = (terms.mlm / masked, terms.mim / removed, terms.itm / Float(context.globalBatch))
        let total = try mlm * config.mlmWeight + mim * config.mimWeight + itm * config.itmWeight
        var values = [mlm.item, mim.item, itm.item]
        try context.communicator.allReduceSum(&values)
        return (total, ["mlm": values[0], "mim": values[1], "itm": values[2], "mlm_accuracy": counts[2] / masked,
                        "itm_accuracy": counts[3] / Float(context.globalBatch)])
    }

    public var objectiveTerms: [String] { ["mlm_accuracy", "mlm_loss", "mim_loss", "itm_accuracy", "itm_loss"] }

    public func objectives(_ batch: Batch, context: StepContext) throws -> [String: (sum: Double, count: Double)] {
        let t = try terms(batch, context: context)
        return ["mlm_accuracy": (Double(t.mlmCorrect), Double(t.masked)), "mlm_loss": (Double(t.mlm.item), Double(t.masked)),
                "mim_loss": (Double(t.mim.item), Double(t.removed)), "itm_accuracy": (Double(t.itmCorrect), Double(t.pairs)),
                "itm_loss": (Double(t.itm.item), Double(t.pairs))]
    }

    /// The official `val/the_metric`: MLM accuracy + ITM accuracy − MIM loss.
    public func objectiveScore(_ means: [String: Double]) -> Double? {
        guard let mlm = means["mlm_accuracy"], let itm = means["itm_accuracy"], let mim = means["mim_loss"] else { return nil }
        return mlm + itm - mim
    }

    /// The column of each row's largest value of a (N, C) matrix.
    static func argmaxRows(_ x: Tensor) -> [Int] {
        let c = x.shape[1], v = x.scalars
        return (0..<x.shape[0]).map { r in (0..<c).max { v[r * c + $0] < v[r * c + $1] } ?? 0 }
    }

    // MARK: evaluation

    /// The image encoder's class token after its final LayerNorm (B, visionWidth): a probe reads the image
    /// alone (the fused feature would need the report, which states the findings).
    public func imageFeatures(_ images: Tensor) throws -> Tensor {
        try CLIPModel.imageFeatures(images, visual: network.visual, resnet: nil, attentionPool: nil, width: config.visionWidth)
    }

    /// Retrieval by pooled-feature similarity: the encoders' first tokens (image class token, report [CLS])
    /// through the fusion's input projections, L2-normalised. M3AE has no contrastive term, so nothing
    /// aligns these two spaces — the evaluation measures how far that gets (methods/M3AE.md has no such
    /// protocol; retrieval by the matching head is the paper's).
    public func imageEmbeddings(_ images: Tensor) throws -> Tensor {
        try network.imageProjection(imageFeatures(images)).l2Normalized()
    }

    public func textEmbeddings(_ text: TextBatch) throws -> Tensor {
        let tokens = try network.text(text.ids, padding: text.padding)
        return try network.textProjection(tokens.slice(axis: 1, 0, 1).reshaped([text.ids.shape[0], config.textWidth])).l2Normalized()
    }

    public var similarityScale: Float { 1 }

    /// The ITM head's match logit of each (image, report) pair (the official retrieval score, M5).
    public func pairLogits(images: Tensor, ids: IndexTensor, padding: Tensor) throws -> Tensor {
        let keys = FusionDropoutKeys(seed: 0, step: 0, pass: 0, firstRow: 0, training: false)
        // Retrieval scores one image against many reports: encode it once when every row is the same image.
        let b = images.shape[0], per = images.count / Swift.max(b, 1), pixels = images.scalars
        let same = b > 1 && (1..<b).allSatisfy { r in pixels[(r * per)..<((r + 1) * per)].elementsEqual(pixels[0..<per]) }
        let image = same ? try network.imageTokens(images.slice(axis: 0, 0, 1)).expanded(to: [b, network.visual.patchCount + 1, config.fusionWidth])
            : try network.imageTokens(images)
        let fused = try network.fuse(text: network.textTokens(ids, padding: padding), padding: padding, image: image, keys: keys)
        let logits = try network.itmHead(network.pooled(text: fused.text, image: fused.image))
        return try logits.slice(axis: 1, 1, 2).reshaped([images.shape[0]])
    }

    public static let registration = MethodRegistration(
        name: "m3ae", summary: "M3AE: masked image (75 %) and language (15 %) modelling with co-attention fusion, and image-text matching",
        testModel: #"{"patchSize": 4, "visionWidth": 16, "visionDepth": 1, "visionHeads": 2, "textWidth": 16, "textDepth": 1, "textHeads": 2, "fusionWidth": 16, "fusionLayers": 2, "fusionHeads": 2, "mimLayer": 1, "decoderWidth": 8, "decoderDepth": 1, "decoderHeads": 2}"#
    ) { section, context in
        let source = section.source
        var defaults = M3AEConfig()
        (defaults.imageSize, defaults.imageChannels) = (context.imageSize, context.imageChannels)
        (defaults.contextLength, defaults.vocabSize) = (context.contextLength, context.vocabularySize)
        var clip: CLIPConfig? = nil
        var tokenizer: (any TextTokenizer)? = nil
        let first = try section.decode(M3AEConfig.self, defaults: defaults)
        var imported: CLIPConfig? = nil
        if !first.imageInitFrom.isEmpty || !first.textInitFrom.isEmpty {
            guard first.initFrom.isEmpty else {
                throw ConfigError("\(source): model.initFrom (a CLIP run) and model.imageInitFrom / textInitFrom (public weights) both start the encoders; give one")
            }
            (defaults, imported, tokenizer) = try publicDefaults(first, over: defaults, source: source)
        }
        if !first.initFrom.isEmpty {
            guard let readRun = context.readRun else { throw ConfigError("\(source): model.initFrom cannot be read here (no run files)") }
            let run: SourceRun
            do { run = try readRun(first.initFrom) } catch { throw ConfigError("\(source): model.initFrom '\(first.initFrom)': \(error)") }
            guard run.method == "clip" else {
                throw ConfigError("\(source): model.initFrom: \(run.checkpoint) is a '\(run.method)' run; M3AE starts from a CLIP run's encoders")
            }
            var clipDefaults = CLIPConfig()
            (clipDefaults.imageSize, clipDefaults.imageChannels, clipDefaults.contextLength) = (run.imageSize, run.imageChannels, run.contextLength)
            if let found = run.tokenizer { clipDefaults.vocabSize = found.vocabularySize }
            let c = try run.model.decode(CLIPConfig.self, defaults: clipDefaults)
            guard c.imageEncoder == .vit else {
                throw ConfigError("\(source): model.initFrom: \(run.checkpoint) has a ResNet image encoder; M3AE masks ViT patches")
            }
            guard c.textArchitecture != .clip, c.textActivation == .gelu else {
                throw ConfigError("\(source): model.initFrom: \(run.checkpoint) has OpenAI CLIP's causal text tower (\(c.textArchitecture.rawValue), "
                                  + "\(c.textActivation.rawValue)); M3AE's masked-language report encoder is bidirectional with exact GELU")
            }
            guard let found = run.tokenizer as? WordPieceTokenizer, found.vocabularySize == c.vocabSize else {
                throw ConfigError("\(source): model.initFrom: no vocabulary of \(c.vocabSize) tokens found for \(run.checkpoint)")
            }
            // The image size is this run's (the ViT's positions are resized to its grid); the channels are the CLIP's.
            (defaults.imageChannels, defaults.patchSize) = (c.imageChannels, c.patchSize)
            (defaults.visionWidth, defaults.visionDepth, defaults.visionHeads) = (c.visionWidth, c.visionDepth, c.visionHeads)
            (defaults.textWidth, defaults.textDepth, defaults.textHeads) = (c.textWidth, c.textDepth, c.textHeads)
            (defaults.contextLength, defaults.vocabSize, defaults.mlpRatio) = (c.contextLength, c.vocabSize, c.mlpRatio)
            (defaults.patchBias, defaults.preNorm) = (c.patchBias, c.preNorm)
            defaults.visionActivation = c.visionActivation
            (defaults.textArchitecture, defaults.textPositions, defaults.textIntermediate) = (c.textArchitecture, c.textPositions, c.textIntermediate)
            (defaults.textNormEps, defaults.textTokenTypes, defaults.textPaddingIndex) = (c.textNormEps, c.textTokenTypes, c.textPaddingIndex)
            defaults.textPooler = c.textPooler
            (clip, tokenizer) = (c, found)
        }
        let config = try section.decode(M3AEConfig.self, defaults: defaults)
        if !config.imageInitFrom.isEmpty || !config.textInitFrom.isEmpty {
            try checkPublic(config, defaults: defaults, imported: imported, source: source)
        }
        if clip != nil {
            let keys: [(String, KeyPath<M3AEConfig, Int>)] = [("patchSize", \.patchSize), ("visionWidth", \.visionWidth), ("visionDepth", \.visionDepth),
                ("visionHeads", \.visionHeads), ("textWidth", \.textWidth), ("textDepth", \.textDepth), ("textHeads", \.textHeads),
                ("contextLength", \.contextLength), ("vocabSize", \.vocabSize)]
            for (key, path) in keys where config[keyPath: path] != defaults[keyPath: path] {
                throw ConfigError("\(source): model.\(key) is \(config[keyPath: path]) but the CLIP run at \(config.initFrom) has \(defaults[keyPath: path]); "
                                  + "leave it out: the CLIP's encoder sizes are used")
            }
            guard config.patchBias == defaults.patchBias, config.preNorm == defaults.preNorm, config.visionActivation == defaults.visionActivation else {
                throw ConfigError("\(source): model.patchBias / model.preNorm / model.visionActivation differ from the CLIP run at \(config.initFrom) "
                                  + "(\(defaults.patchBias) / \(defaults.preNorm) / \(defaults.visionActivation.rawValue)); leave them out: the CLIP's ViT is used")
            }
            guard config.textOptions == defaults.textOptions else {
                throw ConfigError("\(source): model.textArchitecture and the text* keys after it differ from the CLIP run at \(config.initFrom) "
                                  + "(\(defaults.textArchitecture.rawValue)); leave them out: the CLIP's report encoder is used")
            }
            guard config.mlpRatio == defaults.mlpRatio else {
                throw ConfigError("\(source): model.mlpRatio is \(config.mlpRatio) but the CLIP run at \(config.initFrom) has \(defaults.mlpRatio)")
            }
        }
        try config.validate(source: source, path: "model")
        var mustMatch = [("imageSize", config.imageSize, context.imageSize), ("imageChannels", config.imageChannels, context.imageChannels)]
        if clip == nil && config.textInitFrom.isEmpty { mustMatch += [("contextLength", config.contextLength, context.contextLength), ("vocabSize", config.vocabSize, context.vocabularySize)] }
        for (key, value, data) in mustMatch where value != data {
            throw ConfigError("\(source): model.\(key) is \(value) but the data gives \(data)"
                              + (clip == nil || key == "imageSize" ? "; set it in the data section only" : " (the CLIP run at \(config.initFrom) was trained on that)"))
        }
        return M3AEMethod(config: config, seed: context.seed, tokenizer: tokenizer)
    }

    /// `defaults` with the ViT of `imageInitFrom` (a CLIPModel or open_clip directory) and the report encoder of
    /// `textInitFrom` (a BERT directory), and that directory's WordPiece vocabulary.
    static func publicDefaults(_ first: M3AEConfig, over defaults: M3AEConfig, source: String) throws -> (M3AEConfig, CLIPConfig?, (any TextTokenizer)?) {
        var out = defaults
        var imported: CLIPConfig? = nil
        var tokenizer: (any TextTokenizer)? = nil
        if !first.imageInitFrom.isEmpty {
            var base = CLIPConfig()
            (base.imageSize, base.imageChannels) = (defaults.imageSize, defaults.imageChannels)
            let from = first.imageInitFrom
            let found: CLIPConfig?
            do { found = try CLIPMethod.publicCLIP(from, over: base) } catch { throw ConfigError("\(source): model.imageInitFrom '\(from)': \(error)") }
            guard let c = found else {
                throw ConfigError("\(source): model.imageInitFrom '\(from)': it takes hf:DIR (a CLIPModel directory) or openclip:DIR (an open_clip model directory)")
            }
            guard c.imageEncoder == .vit else {
                throw ConfigError("\(source): model.imageInitFrom: \(from) has a ResNet image tower; M3AE masks ViT patches")
            }
            (out.patchSize, out.visionWidth, out.visionDepth, out.visionHeads) = (c.patchSize, c.visionWidth, c.visionDepth, c.visionHeads)
            (out.mlpRatio, out.patchBias, out.preNorm, out.visionActivation) = (c.mlpRatio, c.patchBias, c.preNorm, c.visionActivation)
            imported = c
        }
        if !first.textInitFrom.isEmpty {
            let text = try ImportedTextEncoder(first.textInitFrom, architectures: [.bert, .roberta], needsMask: true, contextLength: defaults.contextLength,
                                               source: source, why: "M3AE's report encoder starts from BERT or RoBERTa")
            text.apply(to: &out)
            tokenizer = text.tokenizer
        }
        return (out, imported, tokenizer)
    }

    /// A config that starts from public weights may not contradict them (it may keep fewer ViT blocks).
    static func checkPublic(_ config: M3AEConfig, defaults: M3AEConfig, imported: CLIPConfig?, source: String) throws {
        if !config.textInitFrom.isEmpty { try ImportedTextEncoder.check(config, defaults: defaults, from: config.textInitFrom, source: source) }
        guard let imported else { return }
        let keys: [(String, KeyPath<M3AEConfig, Int>)] = [("patchSize", \.patchSize), ("visionWidth", \.visionWidth), ("visionHeads", \.visionHeads)]
        for (key, path) in keys where config[keyPath: path] != defaults[keyPath: path] {
            throw ConfigError("\(source): model.\(key) is \(config[keyPath: path]) but \(config.imageInitFrom) has \(defaults[keyPath: path]); leave it out")
        }
        guard (1...imported.visionDepth).contains(config.visionDepth) else {
            throw ConfigError("\(source): model.visionDepth is \(config.visionDepth); \(config.imageInitFrom) has \(imported.visionDepth) blocks to start from")
        }
        guard config.patchBias == defaults.patchBias, config.preNorm == defaults.preNorm, config.visionActivation == defaults.visionActivation,
              config.mlpRatio == defaults.mlpRatio else {
            throw ConfigError("\(source): model.patchBias / preNorm / visionActivation / mlpRatio differ from \(config.imageInitFrom); leave them out")
        }
    }
}
