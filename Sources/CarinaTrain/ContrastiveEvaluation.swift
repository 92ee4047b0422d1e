// Evaluation of a contrastive image-report model, distributed: each rank embeds its share of the
// evaluation (and probe-training) samples, the embeddings are gathered so every sample counts once, and
// zero-shot AUC, linear-probe AUC at several label fractions and Recall@K both ways are computed.
// Not for: the metrics' definitions (CarinaEval) or iterating the data (the caller hands over batches).
import CarinaData
import CarinaDist
import CarinaEval
import CarinaModels
import CarinaNN

public struct ContrastiveEvaluation {
    public var classNames: [String]
    public var probeFractions: [Float] = [0.01, 0.1, 1]
    public var zeroShot = true
    public var linearProbe = true
    public var retrieval = true
    public var seed: UInt64 = 0
    /// Labels no prompt pair can describe ("No Finding"): left out of zero-shot classification.
    public var zeroShotExcluded: Set<String> = ["No Finding"]

    public init(classNames: [String]) { self.classNames = classNames }

    /// Embeddings of every sample of the gathered batches: images (N, E), reports (N, E), labels (N, C)
    /// with -1 for unknown, in global order of the ranks' shares.
    public struct Embedded {
        public let images: Tensor
        public let reports: Tensor?
        public let labels: Tensor
    }

    /// Embeds this rank's batches and gathers every rank's rows (ranks may hold different counts).
    public static func embed(_ clip: CLIPModel, batches: [Batch], classCount: Int, withText: Bool,
                             communicator: Communicator) throws -> Embedded {
        let e = clip.config.embedDim
        var images: [Float] = [], reports: [Float] = [], labels: [Float] = []
        try Autograd.withoutGrad {
            clip.eval()
            defer { clip.train() }
            for batch in batches {
                images += try clip.embedImages(batch.images).scalars
                if withText, let text = batch.text {
                    reports += try clip.embedText(text.ids, padding: text.padding).scalars
                }
                let known = batch.labelMask.scalars
                labels += zip(batch.labels.scalars, known).map { $1 == 1 ? $0 : -1 }
            }
        }
        let gi = try communicator.allGatherVariable(images).values
        let gl = try communicator.allGatherVariable(labels).values
        let n = gi.count / e
        guard gl.count == n * classCount else {
            throw TrainingError("evaluation: gathered \(n) image embeddings but \(gl.count / max(classCount, 1)) label rows")
        }
        var gr: Tensor? = nil
        if withText {
            let all = try communicator.allGatherVariable(reports).values
            guard all.count == n * e else { throw TrainingError("evaluation: \(all.count / e) report embeddings for \(n) images") }
            gr = Tensor(shape: [n, e], values: all)
        }
        return Embedded(images: Tensor(shape: [n, e], values: gi), reports: gr, labels: Tensor(shape: [n, classCount], values: gl))
    }

    /// Metrics as flat names: zero_shot_macro_auc, zero_shot_auc/<class>, probe_<pct>_macro_auc,
    /// r@1_i2t, r@5_t2i, ...; every rank gets the same values.
    public func run(_ clip: CLIPModel, evaluation: Embedded, probeTraining: Embedded?,
                    embedPrompts: ([String]) throws -> Tensor) throws -> [String: Double] {
        var out: [String: Double] = [:]
        let n = evaluation.images.shape[0]
        let zeroShotColumns = classNames.indices.filter { !zeroShotExcluded.contains(classNames[$0]) }
        if zeroShot && !zeroShotColumns.isEmpty {
            let names = zeroShotColumns.map { classNames[$0] }
            let prompts = names.map { ZeroShot.prompts(for: $0) }
            let pos = try embedPrompts(prompts.map(\.positive)), neg = try embedPrompts(prompts.map(\.negative))
            let scale = Autograd.withoutGrad { clip.logitScale().item }
            let labels = try evaluation.labels.indexSelect(axis: 1, zeroShotColumns)
            let m = try Self.zeroShotMetrics(images: evaluation.images, positive: pos, negative: neg, scale: scale, labels: labels,
                                             classNames: names)
            out["zero_shot_macro_auc"] = m.macroAUC ?? .nan
            for (name, auc) in zip(names, m.auc) { out["zero_shot_auc/\(name)"] = auc ?? .nan }
        }
        if linearProbe, let train = probeTraining, !classNames.isEmpty {
            var probe = LinearProbe()
            probe.seed = seed
            for fraction in probeFractions {
                let r = try probe.run(trainFeatures: train.images, trainLabels: train.labels, testFeatures: evaluation.images,
                                      testLabels: evaluation.labels, classNames: classNames, fraction: fraction)
                let pct = fraction * 100 == (fraction * 100).rounded() ? "\(Int(fraction * 100))" : "\(fraction * 100)"
                out["probe_\(pct)pct_macro_auc"] = r.metrics.macroAUC ?? .nan
            }
        }
        if retrieval, let reports = evaluation.reports, n > 0 {
            let similarity = try Autograd.withoutGrad { try evaluation.images.matmul(reports, transposeOther: true) }
            let r = Retrieval.recallAtK(similarity: similarity.scalars, n: n)
            for (k, v) in r.imageToReport { out["r@\(k)_i2t"] = v }
            for (k, v) in r.reportToImage { out["r@\(k)_t2i"] = v }
        }
        return out
    }

    /// Zero-shot ranking metrics of images (N, E) against prompt pairs (C, E), with labels (N, C) (-1
    /// unknown). Images are ranked by the logits scale·(img·pos − img·neg), not by their sigmoid, which
    /// saturates to 1 in Float32 and would tie images the logits order.
    public static func zeroShotMetrics(images: Tensor, positive: Tensor, negative: Tensor, scale: Float, labels: Tensor,
                                       classNames: [String]) throws -> MultiLabelMetrics {
        let scores = try ZeroShot.logits(images: images, positive: positive, negative: negative, scale: scale)  // (N, C)
        return MultiLabelMetrics(scores: scores.scalars, labels: labels.scalars, classNames: classNames)
    }

    /// Embeds `evaluation` and `probeTraining` samples of `source` (each rank its share, no augmentation)
    /// and runs every enabled evaluation. Retrieval is skipped when the samples have no reports.
    public func evaluate(_ clip: CLIPModel, source: SampleSource, evaluation: [Int], probeTraining: [Int], tokenizer: WordPieceTokenizer,
                         contextLength: Int, transform: ImageTransform, workers: Int, communicator: Communicator) throws -> [String: Double] {
        let assembler = BatchAssembler(source: source, transform: transform, seed: seed,
                                       tokenize: { report, _ in tokenizer.encode(report, contextLength: contextLength) },
                                       contextLength: contextLength, threads: workers)
        var hasReports = false
        func embed(_ indices: [Int]) throws -> Embedded {
            let mine = EvaluationShard.range(count: indices.count, rank: communicator.rank, size: communicator.size)
            let batches = try EvaluationBatches(assembler: assembler, indices: Array(indices[mine]), batch: 64).collect()
            var localReports = [Int64(batches.contains { $0.reports.contains { !$0.isEmpty } } ? 1 : 0)]
            try localReports.withUnsafeMutableBufferPointer { try communicator.allReduceMax($0) }
            hasReports = hasReports || localReports[0] > 0
            return try ContrastiveEvaluation.embed(clip, batches: batches, classCount: source.classNames.count, withText: true,
                                                   communicator: communicator)
        }
        let evaluated = try embed(evaluation)
        let probe = linearProbe && !probeTraining.isEmpty ? try embed(probeTraining) : nil
        var settings = self
        settings.retrieval = retrieval && hasReports
        return try settings.run(clip, evaluation: evaluated, probeTraining: probe) { prompts in
            let encoded = prompts.map { tokenizer.encode($0, contextLength: contextLength) }
            return try Autograd.withoutGrad {
                try clip.embedText(IndexTensor(shape: [prompts.count, contextLength], values: encoded.flatMap(\.ids)),
                                   padding: Tensor(shape: [prompts.count, contextLength], values: encoded.flatMap(\.padding)))
            }
        }
    }
}
