// Evaluation of any method by what it declares it can do (EvaluationCapabilities): image features give a
// linear probe at label fractions; images and texts in one space give zero-shot by prompts and retrieval;
// (image, class) scores give the method's own classifier metrics; (image, text) pair scores give
// retrieval by matching. Distributed: the evaluation split is cut into global batches in its own order
// (the same on any world size), each split over the ranks; results are gathered back into that order,
// so every number is independent of the world size. Not for: the metrics' definitions (CarinaEval).
import CarinaData
import CarinaDist
import CarinaEval
import CarinaModels
import CarinaNN

/// What to compute and how.
public struct EvaluationSettings: Sendable {
    public var zeroShot = true
    public var linearProbe = true
    public var retrieval = true
    public var classifier = true
    public var objectives = true
    public var probeFractions: [Float] = [0.01, 0.1, 1]
    public var probeC: Float = 1
    public var bootstrap = 1000
    public var batch = 64
    public var pairRetrievalSamples = 100
    public var seed: UInt64 = 0
    /// Labels no prompt pair can describe ("No Finding"): left out of zero-shot classification.
    public var zeroShotExcluded: Set<String> = ["No Finding"]
    /// The zero-shot prompt pair, "{}" standing for the finding.
    public var zeroShotTemplates = ZeroShot.defaultTemplates
    /// Findings held out of training (`data.holdOutClasses`): when there are any, the zero-shot and
    /// classifier sections are also reported over the seen findings alone (`zero_shot_seen`,
    /// `classifier_seen`) and over the held-out ones (`zero_shot_unseen`, `classifier_unseen`).
    public var heldOutClasses: Set<String> = []

    public init() {}

    public init(_ eval: EvalConfig, seed: UInt64) {
        (zeroShot, linearProbe, retrieval, classifier, objectives) = (eval.zeroShot, eval.linearProbe, eval.retrieval, eval.classifier, eval.objectives)
        (probeFractions, probeC, bootstrap, batch, pairRetrievalSamples) = (eval.probeFractions, eval.probeC, eval.bootstrap, eval.batch, eval.pairRetrievalSamples)
        zeroShotTemplates = (eval.zeroShotPositive, eval.zeroShotNegative)
        self.seed = seed
    }
}

/// Samples to evaluate on (or to train a probe on), with a name for the table.
public struct EvaluationSet: Sendable {
    public let source: SampleSource
    public let indices: [Int]
    public let name: String

    public init(source: SampleSource, indices: [Int], name: String) {
        self.source = source
        self.indices = indices
        self.name = name
    }
}

public struct MethodEvaluation {
    public var settings: EvaluationSettings
    /// The run's vocabulary and context; a method with its own `textEncoding` is evaluated with that.
    public var tokenizer: (any TextTokenizer)?
    public var contextLength: Int
    public let transform: ImageTransform
    public let workers: Int
    public let communicator: Communicator

    public init(settings: EvaluationSettings, tokenizer: (any TextTokenizer)?, contextLength: Int, transform: ImageTransform, workers: Int,
                communicator: Communicator) {
        self.settings = settings
        self.tokenizer = tokenizer
        self.contextLength = contextLength
        self.transform = transform
        self.workers = workers
        self.communicator = communicator
    }

    /// What a pass over a set gathered, rows in the set's order.
    struct Pass {
        var count = 0
        /// (N, D) probe features, (N, E) image and report embeddings, (N, C) class logits.
        var features: [Float] = [], images: [Float] = [], reports: [Float] = [], logits: [Float] = []
        var featureWidth = 0, embedWidth = 0
        /// (N, C_source) labels: 1, 0, or -1 unknown, in the source's class order.
        var labels: [Float] = []
        var hasReports = false
    }

    /// Evaluates `method` (put in evaluation mode for the duration) on `set`, with a linear probe trained
    /// on `probe` (its classes matched to the set's by name).
    public func run(_ method: TrainingMethod, on set: EvaluationSet, probe: EvaluationSet?) throws -> EvaluationReport {
        let model = method.model
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        var evaluation = self
        if let own = method.textEncoding { (evaluation.tokenizer, evaluation.contextLength) = (own.tokenizer, own.contextLength) }
        return try Autograd.withoutGrad { try evaluation.evaluate(method, on: set, probe: probe) }
    }

    private func evaluate(_ method: TrainingMethod, on set: EvaluationSet, probe: EvaluationSet?) throws -> EvaluationReport {
        let embedder = method as? EmbedsImages
        let joint = method as? EmbedsImagesAndTexts
        let scorer = settings.classifier ? method as? ScoresImageClasses : nil
        let classes = set.source.classNames
        let scoredClasses = scorer.map { s in classes.filter { s.scorableClasses?.contains($0) ?? true } } ?? []
        let wantsFeatures = settings.linearProbe && probe != nil && !classes.isEmpty
        let pass = try self.pass(set, method: method, features: wantsFeatures ? embedder : nil, joint: joint,
                                 scorer: scoredClasses.isEmpty ? nil : scorer, scoredClasses: scoredClasses)
        var sections: [EvaluationReport.Section] = []
        let n = pass.count, c = classes.count

        if settings.zeroShot, let joint, let tokenizer {
            let columns = classes.indices.filter { !settings.zeroShotExcluded.contains(classes[$0]) }
            if !columns.isEmpty {
                let names = columns.map { classes[$0] }
                let prompts = names.map { ZeroShot.prompts(for: $0, templates: settings.zeroShotTemplates) }
                let pos = try embed(prompts.map(\.positive), joint, tokenizer), neg = try embed(prompts.map(\.negative), joint, tokenizer)
                let e = pass.embedWidth
                // Ranked by the scaled logit difference: the pairwise softmax saturates to 1.0 in Float32.
                let scores = try ZeroShot.logits(images: Tensor(shape: [n, e], values: pass.images), positive: pos, negative: neg,
                                                 scale: joint.similarityScale)
                sections += classificationBySeen("zero_shot", "zero-shot", scores: scores.scalars, labels: select(pass.labels, columns, of: c),
                                                 names: names, threshold: 0)
            }
        }
        if wantsFeatures, embedder != nil, let probe {
            let probeClasses = probe.source.classNames
            // A probe learns from labels: held-out findings are not probed (it cannot score an unseen class).
            let shared = classes.indices.filter { probeClasses.contains(classes[$0]) && !settings.heldOutClasses.contains(classes[$0]) }
            guard !shared.isEmpty else {
                throw ConfigError("linear probe: \(probe.name) has none of the classes of \(set.name) (\(classes.joined(separator: ", ")))")
            }
            let names = shared.map { classes[$0] }
            let train = try self.pass(probe, method: method, features: embedder, joint: nil, scorer: nil, scoredClasses: [])
            let d = pass.featureWidth
            let trainLabels = select(train.labels, names.map { probeClasses.firstIndex(of: $0)! }, of: probeClasses.count)
            var linear = LinearProbe()
            (linear.seed, linear.C) = (settings.seed, Double(settings.probeC))
            for fraction in settings.probeFractions {
                let r = try linear.run(trainFeatures: Tensor(shape: [train.count, d], values: train.features),
                                       trainLabels: Tensor(shape: [train.count, names.count], values: trainLabels),
                                       testFeatures: Tensor(shape: [n, d], values: pass.features),
                                       testLabels: Tensor(shape: [n, names.count], values: select(pass.labels, shared, of: c)),
                                       classNames: names, fraction: fraction)
                let pct = fraction * 100 == (fraction * 100).rounded() ? "\(Int(fraction * 100))" : "\(fraction * 100)"
                sections += classificationBySeen("probe_\(pct)pct", "linear probe \(pct) %", scores: r.testScores,
                                                labels: select(pass.labels, shared, of: c), names: names, threshold: nil)
            }
        }
        if !scoredClasses.isEmpty, scorer != nil {
            let columns = scoredClasses.map { classes.firstIndex(of: $0)! }
            sections += classificationBySeen("classifier", "classifier", scores: pass.logits, labels: select(pass.labels, columns, of: c),
                                             names: scoredClasses, threshold: 0)
        }
        if settings.retrieval, joint != nil, pass.hasReports, n > 0 {
            let e = pass.embedWidth
            let similarity = try Tensor(shape: [n, e], values: pass.images).matmul(Tensor(shape: [n, e], values: pass.reports), transposeOther: true)
            sections.append(retrievalSection("retrieval", "retrieval", similarity.scalars, n: n))
        }
        if settings.retrieval, let pairs = method as? ScoresImageTextPairs, let tokenizer, n > 0 {
            if let section = try pairRetrieval(pairs, set, tokenizer: tokenizer) { sections.append(section) }
        }
        if settings.objectives, let measured = method as? MeasuresObjectives, let section = try objectivesSection(measured, set, tokenizer: tokenizer) {
            sections.append(section)
        }
        return EvaluationReport(title: set.name, samples: n, sections: sections, bootstrapResamples: settings.bootstrap)
    }

    /// Columns `columns` of an (N, width) row-major matrix.
    func select(_ values: [Float], _ columns: [Int], of width: Int) -> [Float] {
        guard width > 0 else { return [] }
        let n = values.count / width
        var out: [Float] = []
        out.reserveCapacity(n * columns.count)
        for i in 0..<n { for j in columns { out.append(values[i * width + j]) } }
        return out
    }

    /// Prompts as a text batch: each one sentence for a method that reads sentences (PRIOR).
    func embed(_ prompts: [String], _ joint: EmbedsImagesAndTexts, _ tokenizer: any TextTokenizer) throws -> Tensor {
        let shape = [prompts.count, contextLength]
        if joint.requirements.sentences != nil {
            guard let wordPiece = tokenizer as? WordPieceTokenizer else {
                throw TensorError.invalidArgument(op: "zero_shot", detail: "a sentence-level report encoder reads prompts with WordPiece")
            }
            return try joint.textEmbeddings(wordPiece.sentenceBatch(prompts, contextLength: contextLength))
        }
        let encoded = prompts.map { tokenizer.encode($0, contextLength: contextLength) }
        return try joint.textEmbeddings(TextBatch(ids: IndexTensor(shape: shape, values: encoded.flatMap(\.ids)),
                                                  padding: Tensor(shape: shape, values: encoded.flatMap(\.padding))))
    }

    /// One pass over `set` in global evaluation batches: each rank its slices; gathered into set order.
    func pass(_ set: EvaluationSet, method: TrainingMethod, features: EmbedsImages?, joint: EmbedsImagesAndTexts?,
              scorer: ScoresImageClasses?, scoredClasses: [String]) throws -> Pass {
        // Reports are read for retrieval, and for a classifier that reads them (M3AE fine-tuned with `text: report`).
        let wantsText = ((joint != nil && settings.retrieval) || (scorer?.requirements.tokens ?? false)) && tokenizer != nil
        // Sentence ids too for a method that reads reports by sentence (evaluation keeps the written order).
        let sentences = joint?.requirements.sentences ?? scorer?.requirements.sentences
        let text = wantsText ? TextPipeline(tokenizer: tokenizer!, contextLength: contextLength,
                                            requirements: BatchRequirements(tokens: true, sentences: sentences)) : nil
        let assembler = BatchAssembler(source: set.source, transform: transform, seed: settings.seed, text: text, threads: workers)
        let batches = EvaluationBatches(assembler: assembler, indices: set.indices, batch: settings.batch, rank: communicator.rank,
                                        size: communicator.size)
        var local = Pass()
        var rowsPerBatch: [Int] = []
        for (k, result) in batches.enumerated() {
            let batch = try result.get()
            let b = batch.count
            rowsPerBatch.append(b)
            if let scorer, scorer.scoresCoupleBatch || b > 0 {
                let global = Swift.min(settings.batch, set.indices.count - k * settings.batch)
                let offset = EvaluationShard.range(count: global, rank: communicator.rank, size: communicator.size).lowerBound
                let context = EvaluationContext(communicator: communicator, seed: settings.seed, globalBatch: global, rowOffset: offset)
                local.logits += try scorer.classLogits(batch, classes: scoredClasses, context: context).scalars
            }
            guard b > 0 else { continue }
            if let features {
                let f = try features.imageFeatures(batch.images)
                local.featureWidth = f.shape[1]
                local.features += f.scalars
            }
            if let joint {
                let i = try joint.imageEmbeddings(batch.images)
                local.embedWidth = i.shape[1]
                local.images += i.scalars
                if let t = batch.text {
                    local.reports += try joint.textEmbeddings(t).scalars
                    local.hasReports = local.hasReports || batch.reports.contains { !$0.isEmpty }
                }
            }
            local.labels += zip(batch.labels.scalars, batch.labelMask.scalars).map { $1 == 1 ? $0 : -1 }
        }
        // Widths and the report flag agree over ranks (a rank may have had no rows).
        var widths = [Int64(local.featureWidth), Int64(local.embedWidth), local.hasReports ? 1 : 0]
        try widths.withUnsafeMutableBufferPointer { try communicator.allReduceMax($0) }
        var out = Pass()
        (out.featureWidth, out.embedWidth, out.hasReports) = (Int(widths[0]), Int(widths[1]), widths[2] != 0)
        out.count = set.indices.count
        let c = set.source.classNames.count
        out.features = try inSetOrder(local.features, width: out.featureWidth, rows: rowsPerBatch)
        out.images = try inSetOrder(local.images, width: out.embedWidth, rows: rowsPerBatch)
        out.reports = try inSetOrder(local.reports, width: out.hasReports ? out.embedWidth : 0, rows: rowsPerBatch)
        out.logits = try inSetOrder(local.logits, width: scoredClasses.count, rows: rowsPerBatch)
        out.labels = try inSetOrder(local.labels, width: c, rows: rowsPerBatch)
        return out
    }

    /// Gathers every rank's rows (`width` values each; this rank's batches hold `rows` rows each) and puts
    /// them back in set order: global batch k is rank 0's slice of it, then rank 1's, ...
    func inSetOrder(_ values: [Float], width: Int, rows: [Int]) throws -> [Float] {
        guard width > 0 else { return [] }
        let gathered = try communicator.allGatherVariable(values)
        let perRankRows = try communicator.allGatherVariable(rows.map(Int64.init)).values.map(Int.init)
        let batches = rows.count
        guard perRankRows.count == batches * communicator.size else {
            throw TrainingError("evaluation: ranks iterated different numbers of batches (\(perRankRows.count) for \(communicator.size) ranks x \(batches))")
        }
        // Where each rank's rows start in the gathered array.
        var rankStart = [Int](repeating: 0, count: communicator.size + 1)
        for r in 0..<communicator.size { rankStart[r + 1] = rankStart[r] + gathered.counts[r] }
        var cursor = (0..<communicator.size).map { rankStart[$0] }
        var out: [Float] = []
        out.reserveCapacity(gathered.values.count)
        for k in 0..<batches {
            for r in 0..<communicator.size {
                let m = perRankRows[r * batches + k] * width
                out += gathered.values[cursor[r]..<(cursor[r] + m)]
                cursor[r] += m
            }
        }
        return out
    }
}
