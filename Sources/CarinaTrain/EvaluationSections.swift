// The sections of an evaluation report from gathered scores: multi-label classification (macro and micro
// AUC, mAP, bootstrap 95 % intervals, threshold metrics, and single-label metrics when every sample has
// exactly one finding; also over the seen and the held-out findings alone) and retrieval (Recall@K both
// ways, by similarity or by a fused pair score).
// Not for: the metrics' definitions (CarinaEval) or gathering the scores (MethodEvaluation).
import CarinaData
import CarinaDist
import CarinaEval
import CarinaModels
import CarinaNN

extension MethodEvaluation {
    /// The classification section of every finding in `names`, then, when findings were held out of
    /// training, the same over the seen findings (`KEY_seen`) and over the held-out ones (`KEY_unseen`),
    /// each left out when it has no finding (a method that scores only its trained classes has no unseen one).
    func classificationBySeen(_ key: String, _ title: String, scores: [Float], labels: [Float], names: [String], threshold: Float?) -> [EvaluationReport.Section] {
        var sections = [classification(key, title, scores: scores, labels: labels, names: names, threshold: threshold)]
        guard !settings.heldOutClasses.isEmpty else { return sections }
        let unseen = names.indices.filter { settings.heldOutClasses.contains(names[$0]) }
        let seen = names.indices.filter { !settings.heldOutClasses.contains(names[$0]) }
        for (part, columns) in [("seen", seen), ("unseen", unseen)] where !columns.isEmpty {
            sections.append(classification("\(key)_\(part)", "\(title), \(part) classes", scores: select(scores, columns, of: names.count),
                                           labels: select(labels, columns, of: names.count), names: columns.map { names[$0] }, threshold: threshold))
        }
        return sections
    }

    /// A classification section from scores (N, C) and labels (N, C) (1, 0, -1 unknown); `threshold` on
    /// the scores for the threshold metrics (logits: 0, i.e. probability 0.5; nil: none).
    func classification(_ key: String, _ title: String, scores: [Float], labels: [Float], names: [String], threshold: Float?) -> EvaluationReport.Section {
        let m = MultiLabelMetrics(scores: scores, labels: labels, classNames: names)
        let ci = settings.bootstrap > 0
            ? Bootstrap(resamples: settings.bootstrap, seed: settings.seed).intervals(scores: scores, labels: labels, classNames: names) : nil
        func range(_ i: Bootstrap.Interval?) -> ClosedRange<Double>? { i.map { $0.lower...$0.upper } }
        var metrics = [EvaluationReport.Metric("macro_auc", "macro AUC", m.macroAUC, interval: range(ci?.macroAUC)),
                       EvaluationReport.Metric("micro_auc", "micro AUC", m.microAUC, interval: range(ci?.microAUC)),
                       EvaluationReport.Metric("map", "mAP", m.meanAveragePrecision, interval: range(ci?.meanAveragePrecision)),
                       EvaluationReport.Metric("pr_auc_trapezoid", "PR-AUC (trapezoid, as PsPG)", m.macroPRAUCTrapezoid)]
        if let threshold {
            let t = ThresholdMetrics(scores: scores, labels: labels, classNames: names, threshold: threshold)
            metrics += [EvaluationReport.Metric("macro_f1", "macro F1 at p > 0.5", t.macroF1),
                        EvaluationReport.Metric("micro_f1", "micro F1 at p > 0.5", t.microF1),
                        EvaluationReport.Metric("macro_precision", "macro precision at p > 0.5", t.macroPrecision),
                        EvaluationReport.Metric("macro_recall", "macro recall at p > 0.5", t.macroRecall),
                        EvaluationReport.Metric("accuracy", "accuracy at p > 0.5", t.accuracy),
                        EvaluationReport.Metric("mcc", "MCC at p > 0.5", t.mcc)]
        }
        // One finding per sample (CheXpert 5x200, PRIOR's zero-shot): also the single-label view, argmax.
        let c = names.count, n = c == 0 ? 0 : scores.count / c
        let truth = (0..<n).compactMap { i -> Int? in
            let row = labels[(i * c)..<((i + 1) * c)]
            return row.allSatisfy({ $0 == 0 || $0 == 1 }) && row.filter({ $0 == 1 }).count == 1 ? row.firstIndex(of: 1)! - i * c : nil
        }
        if c > 1, n > 0, truth.count == n {
            let predicted = (0..<n).map { i in (0..<c).max { scores[i * c + $0] < scores[i * c + $1] }! }
            let mc = MultiClassMetrics(truth: truth, predicted: predicted)
            metrics += [EvaluationReport.Metric("single_label_accuracy", "single-label accuracy (argmax)", mc.accuracy),
                        EvaluationReport.Metric("single_label_macro_f1", "single-label macro F1 (argmax)", mc.macroF1),
                        EvaluationReport.Metric("cohen_kappa", "Cohen's kappa (argmax)", mc.cohenKappa)]
        }
        let rows = names.indices.map { j -> EvaluationReport.ClassRow in
            let column = (0..<n).map { labels[$0 * c + j] }
            return EvaluationReport.ClassRow(name: names[j], auc: m.auc[j], aucInterval: range(ci?.auc[j] ?? nil), averagePrecision: m.averagePrecision[j],
                                             positives: column.filter { $0 == 1 }.count, known: column.filter { $0 == 0 || $0 == 1 }.count)
        }
        return EvaluationReport.Section(key: key, title: title, metrics: metrics, perClass: rows)
    }

    /// Recall@1/5/10 both ways from an (N, N) score matrix whose matching pairs sit on the diagonal.
    func retrievalSection(_ key: String, _ title: String, _ similarity: [Float], n: Int) -> EvaluationReport.Section {
        let r = Retrieval.recallAtK(similarity: similarity, n: n)
        let metrics = ["i2t", "t2i"].flatMap { direction in
            [1, 5, 10].map { k in
                EvaluationReport.Metric("r@\(k)_\(direction)", "R@\(k) \(direction == "i2t" ? "image->report" : "report->image")",
                                        direction == "i2t" ? r.imageToReport[k] : r.reportToImage[k])
            }
        }
        return EvaluationReport.Section(key: key, title: title, metrics: metrics, perClass: [])
    }

    /// Retrieval by a fused pair score: the first `pairRetrievalSamples` samples of the set (with reports),
    /// every image against every report (N² pairs, each rank its share of the images, in order).
    func pairRetrieval(_ method: ScoresImageTextPairs, _ set: EvaluationSet, tokenizer: any TextTokenizer) throws -> EvaluationReport.Section? {
        let chosen = Array(set.indices.prefix(settings.pairRetrievalSamples))
        let assembler = BatchAssembler(source: set.source, transform: transform, seed: settings.seed,
                                       text: TextPipeline(tokenizer: tokenizer, contextLength: contextLength), threads: workers)
        let all = try assembler.assemble(indices: chosen, epoch: 0).batch
        guard let text = all.text, all.reports.contains(where: { !$0.isEmpty }) else { return nil }
        let n = chosen.count, t = contextLength
        let mine = EvaluationShard.range(count: n, rank: communicator.rank, size: communicator.size)
        var scores: [Float] = []
        for i in mine {
            let image = try all.images.slice(axis: 0, i, i + 1)
            for start in stride(from: 0, to: n, by: settings.batch) {
                let end = Swift.min(start + settings.batch, n)
                let m = end - start
                let images = try Tensor.concat([Tensor](repeating: image, count: m), axis: 0)
                let ids = IndexTensor(shape: [m, t], values: Array(text.ids.values[(start * t)..<(end * t)]))
                let padding = try text.padding.slice(axis: 0, start, end)
                scores += try method.pairLogits(images: images, ids: ids, padding: padding).scalars
            }
        }
        let gathered = try communicator.allGatherVariable(scores).values  // rank order = image order
        return retrievalSection("pair_retrieval", "pair-score retrieval (\(n) samples)", gathered, n: n)
    }

    /// The method's own objectives over the set (MeasuresObjectives): global batch k is assembled whole and
    /// computed by rank k mod size as a world of one; the sums and counts are added over ranks.
    func objectivesSection(_ method: MeasuresObjectives, _ set: EvaluationSet, tokenizer: (any TextTokenizer)?) throws -> EvaluationReport.Section? {
        let wants = method.requirements
        let text: TextPipeline?
        if wants.tokens {
            guard let tokenizer else { return nil }
            text = TextPipeline(tokenizer: tokenizer, contextLength: contextLength, requirements: wants, training: true)
        } else {
            text = nil
        }
        let assembler = BatchAssembler(source: set.source, transform: transform, seed: settings.seed, text: text, threads: workers)
        let alone = LocalWorld(size: 1).communicators()[0]
        let names = method.objectiveTerms
        var totals: [String: (sum: Double, count: Double)] = [:]
        for (k, start) in stride(from: 0, to: set.indices.count, by: settings.batch).enumerated() where k % communicator.size == communicator.rank {
            let indices = Array(set.indices[start..<Swift.min(start + settings.batch, set.indices.count)])
            let batch = try assembler.assemble(indices: indices, epoch: 0).batch
            let context = StepContext(step: 0, epoch: 0, stage: StageInfo(index: 0, name: "evaluation", step: 0, steps: 1), seed: settings.seed,
                                      communicator: alone, globalBatch: batch.count, rowOffset: 0, training: false)
            for (name, term) in try method.objectives(batch, context: context) where names.contains(name) {
                let t = totals[name] ?? (0, 0)
                totals[name] = (t.sum + term.sum, t.count + term.count)
            }
        }
        // Every rank adds the same terms in the same order, whether or not it computed a batch.
        var flat: [Double] = names.flatMap { name -> [Double] in [totals[name]?.sum ?? 0, totals[name]?.count ?? 0] }
        try communicator.allReduceSum(&flat)
        var means: [String: Double] = [:]
        for (i, name) in names.enumerated() where flat[2 * i + 1] > 0 { means[name] = flat[2 * i] / flat[2 * i + 1] }
        guard !means.isEmpty else { return nil }
        var metrics = names.filter { means[$0] != nil }.map { EvaluationReport.Metric($0, $0.replacingOccurrences(of: "_", with: " "), means[$0]) }
        if let score = method.objectiveScore(means) { metrics.append(EvaluationReport.Metric("score", "selection score", score)) }
        return EvaluationReport.Section(key: "objectives", title: "objectives", metrics: metrics, perClass: [])
    }
}
