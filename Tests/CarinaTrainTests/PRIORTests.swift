// PRIOR (method prior): the Hungarian assignment against brute force and in target order (R2), sentence
// features exactly the means of their own tokens, local tokens in (position, channel) order (R1),
// finite-difference gradients of the prototype bank, local alignment, sentence pool, both decoders and the
// batch-coupled losses, which modules each stage trains, reports without sentences left out and counted,
// and config checks. The data-parallel equivalence (2 and 4 ranks, mpirun -np 2) runs for every registered
// method in DataParallelTests and the selftest; resuming inside stage 2 is below.
import Foundation
import Testing
import CarinaCheckpoint
import CarinaData
import CarinaDist
import CarinaModels
import CarinaNN
import CarinaTestSupport
@testable import CarinaTrain

/// A small PRIOR for 16-px images (its registration's test model), built from a JSON `model` section.
func tinyPRIOR(_ json: String = MethodRegistry.builtIn.first { $0.name == "prior" }!.testModel, seed: UInt64 = 3,
               tokenizer: WordPieceTokenizer? = nil, contextLength: Int = 48) throws -> PRIORMethod {
    var config = PRIORConfig()
    (config.imageSize, config.contextLength, config.vocabSize) = (16, contextLength, tokenizer?.vocabularySize ?? 64)
    let data = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
    var merged = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as! [String: Any]
    for (k, v) in data { merged[k] = v }
    config = try JSONDecoder().decode(PRIORConfig.self, from: JSONSerialization.data(withJSONObject: merged))
    try config.validate(source: "test", path: "model")
    return PRIORMethod(config: config, seed: seed, tokenizer: tokenizer)
}

@Suite struct PRIORTests {
    // MARK: Hungarian

    /// The least total cost over every assignment of rows to distinct columns.
    static func bruteForce(_ cost: [Double], _ n: Int, _ m: Int) -> Double {
        var best = Double.infinity
        var used = [Bool](repeating: false, count: m)
        func go(_ row: Int, _ sum: Double) {
            if row == n { best = min(best, sum); return }
            for j in 0..<m where !used[j] {
                used[j] = true
                go(row + 1, sum + cost[row * m + j])
                used[j] = false
            }
        }
        go(0, 0)
        return best
    }

    @Test func hungarianEqualsBruteForceOnEveryMatrixUpToSixBySix() {
        var rng = RNG(seed: 11, "hungarian")
        for n in 1...6 {
            for m in n...6 {
                for trial in 0..<40 {
                    // Half the trials draw from {0, 1, 2}: many ties, several optimal assignments.
                    let tied = trial % 2 == 1
                    let cost = (0..<(n * m)).map { _ in tied ? Double(rng.int(3)) : Double(rng.uniform(-5, 5)) }
                    let columnOf = Hungarian.assign(cost: cost, rows: n, columns: m)
                    #expect(columnOf.count == n && Set(columnOf).count == n && columnOf.allSatisfy { (0..<m).contains($0) })
                    var total = 0.0
                    for r in 0..<n { total += cost[r * m + columnOf[r]] }
                    #expect(abs(total - Self.bruteForce(cost, n, m)) < 1e-9, "\(n)x\(m) trial \(trial): \(cost)")
                    #expect(Hungarian.assign(cost: cost, rows: n, columns: m) == columnOf)  // deterministic
                }
            }
        }
        // Every 3 x 3 matrix of zeros and ones (512 of them).
        for bits in 0..<512 {
            let cost = (0..<9).map { Double((bits >> $0) & 1) }
            let columnOf = Hungarian.assign(cost: cost, rows: 3, columns: 3)
            var total = 0.0
            for r in 0..<3 { total += cost[r * 3 + columnOf[r]] }
            #expect(total == Self.bruteForce(cost, 3, 3))
        }
    }

    @Test func generatedRowsAreComparedWithTheTargetTheyWereMatchedTo() {
        // Generated row r equals target perm[r] for a 3-cycle (not its own inverse, where R2 went wrong):
        // after matching, position j must hold the generated row equal to target j.
        let q = 4, e = 3
        let targets: [Float] = (0..<(q * e)).map { Float($0 * $0 % 7) + Float($0 / e) * 10 }
        let perm = [1, 2, 0, 3]
        var generated = [Float](repeating: 0, count: q * e)
        for r in 0..<q { for k in 0..<e { generated[r * e + k] = targets[perm[r] * e + k] } }
        let rowOf = PRIORMethod.matching(generated: generated, targets: targets, rows: 1, queries: q, width: e)
        for j in 0..<q {
            let row: [Float] = Array(generated[(rowOf[j] * e)..<((rowOf[j] + 1) * e)])
            let target: [Float] = Array(targets[(j * e)..<((j + 1) * e)])
            #expect(row == target, "target \(j)")
        }
        // The official indexing (the assignment itself) puts the wrong rows there for this permutation.
        var cost = [Double](repeating: 0, count: q * q)
        for r in 0..<q {
            for c in 0..<q {
                var d: Float = 0
                for k in 0..<e { d += abs(generated[r * e + k] - targets[c * e + k]) }
                cost[r * q + c] = Double(d)
            }
        }
        let columnOf = Hungarian.assign(cost: cost, rows: q, columns: q)
        #expect(columnOf == perm && Hungarian.inverse(columnOf) != columnOf)
    }

    // MARK: features

    static let source = SyntheticCXR(count: 12, seed: 5, imageSize: 16)
    static let tokenizer = try! WordPieceTokenizer(vocabulary: VocabularyBuilder.build(corpus: (0..<12).map { source.report(at: $0) }, size: 300))

    func batch(_ indices: [Int], context: Int = 48, training: Bool = false) throws -> Batch {
        let text = TextPipeline(tokenizer: Self.tokenizer, contextLength: context, requirements: BatchRequirements(sentences: .init(shuffle: true)),
                                training: training)
        return try BatchAssembler(source: Self.source, transform: ImageTransform(size: 16, train: false), seed: 7, text: text, threads: 1)
            .assemble(indices: indices, epoch: 1).batch
    }

    @Test func sentenceFeaturesAreTheMeansOfTheirOwnTokens() throws {
        let method = try tinyPRIOR(tokenizer: Self.tokenizer)
        let net = method.network
        let b = try batch([0, 1, 2, 3], context: 48)
        let text = try #require(b.text), ids = try #require(text.sentenceIDs), counts = try #require(text.sentenceCounts)
        let capped = counts.map { min($0, 2) }  // the first two sentences of each report only
        let (sentences, mask) = try Autograd.withoutGrad { try net.sentenceFeatures(ids: text.ids, padding: text.padding, sentenceIDs: ids, counts: capped) }
        let tokens = try Autograd.withoutGrad { try net.localTextProjection(net.text(text.ids, padding: text.padding)) }.scalars
        let (t, e, s) = (text.ids.shape[1], net.config.embedDim, sentences.shape[1])
        #expect(s == capped.max()!)
        for row in 0..<4 {
            for k in 0..<s {
                #expect(mask.scalars[row * s + k] == (k < capped[row] ? 1 : 0))
                let members = (0..<t).filter { ids.values[row * t + $0] == Int32(k) }
                for c in 0..<e {
                    let expected = k < capped[row] ? members.map { tokens[(row * t + $0) * e + c] }.reduce(0, +) / Float(members.count) : 0
                    #expect(abs(sentences.scalars[(row * s + k) * e + c] - expected) < 1e-5, "row \(row) sentence \(k)")
                }
            }
        }
    }

    @Test func sentenceIDsAreExactForEmptyAndVeryLongSentences() throws {
        let tok = Self.tokenizer
        // Punctuation-only "sentences" are dropped by the splitter; a sentence longer than the context is
        // cut to fit when it comes first and left out whole otherwise.
        let long = Array(repeating: "the heart is enlarged", count: 40).joined(separator: " ") + "."
        for sentences in [ReportSections.sentences("No effusion. . ! Heart normal."), [long, "No effusion."], ["No effusion.", long]] {
            let s = tok.encodeSentences(sentences, contextLength: 24)
            #expect(s.ids.count == 24 && s.ids.first == tok.clsID)
            let used = s.padding.filter { $0 == 1 }.count
            #expect(s.ids[used - 1] == tok.sepID && s.sentenceIDs[0] == -1 && s.sentenceIDs[used - 1] == -1)
            for k in 0..<s.count {
                let mine = zip(s.ids, s.sentenceIDs).filter { $0.1 == Int32(k) }.map(\.0)
                let alone = tok.tokenize(sentences[k]).map { tok.id(of: $0) ?? tok.unkID }
                #expect(mine == (k == 0 ? Array(alone.prefix(22)) : alone), "\(sentences) sentence \(k)")
            }
            #expect(s.sentenceIDs[used...].allSatisfy { $0 == -1 })
        }
        #expect(ReportSections.sentences("No effusion. . ! Heart normal.") == ["No effusion.", "Heart normal."])
    }

    @Test func localTokensArePositionsWithTheirChannels() throws {
        let net = try tinyPRIOR().network
        let images = randomTensor([2, 1, 16, 16], stream: 4)
        let (_, _, local) = try Autograd.withoutGrad { try net.encodeImages(images) }
        let map = try Autograd.withoutGrad { try net.visual(images) }  // (2, C, g, g)
        let (c, g, e) = (map.shape[1], map.shape[2], net.config.embedDim)
        #expect(local.shape == [2, g * g, e])
        // Token p of image i is the projection of the C channels at position p = y·g + x.
        for i in 0..<2 {
            for p in 0..<(g * g) {
                let column = Tensor(shape: [1, c], values: (0..<c).map { map.scalars[(i * c + $0) * g * g + p] })
                let projected = try Autograd.withoutGrad { try net.localImageProjection(column) }.scalars
                let token = Array(local.scalars[((i * g * g + p) * e)..<((i * g * g + p + 1) * e)])
                #expect(zip(projected, token).allSatisfy { abs($0 - $1) < 1e-5 }, "image \(i) position \(p)")
            }
        }
    }

    // MARK: gradients

    @Test func prototypeBankLocalAlignmentAndSentencePoolGradientsAgainstFiniteDifferences() throws {
        var rng = RNG(seed: 5, "test")
        let bank = SentencePrototypeBank(count: 5, dim: 6, rng: &rng)
        let x = randomTensor([2, 3, 6], stream: 1)
        let key = RandomKey(seed: 3, stream: 9, firstRow: 4)
        try checkGradients([x, bank.codebook]) { t in try bank(t[0], temperature: 0.9, key: key).output }
        try checkGradients([x, bank.codebook]) { t in try bank(t[0], temperature: 0.9, key: nil).output }
        // The noise is keyed by the row's global index: the same row gives the same draw in another batch.
        let both = try bank(x, temperature: 0.9, key: key).output
        let second = try bank(x.slice(axis: 0, 1, 2), temperature: 0.9, key: RandomKey(seed: 3, stream: 9, firstRow: 5)).output
        let firstRow = try both.slice(axis: 0, 1, 2).scalars
        #expect(zip(firstRow, second.scalars).allSatisfy { abs($0 - $1) < 1e-6 })

        let lam = LocalAlignment(dim: 6, rng: &rng)
        let image = randomTensor([2, 4, 6], stream: 2), sentences = randomTensor([2, 3, 6], stream: 3)
        let mask = Tensor(shape: [2, 3], values: [1, 1, 0, 1, 1, 1])
        try checkGradients([image, sentences, lam.imageKey.weight, lam.textValue.bias!, lam.textQuery.weight]) { t in
            let r = try lam(image: t[0], sentences: t[1], mask: mask)
            return try Tensor.concat([r.textContext.reshaped([2, 18]), r.imageContext.reshaped([2, 24])], axis: 1)
        }
        // A padded sentence adds nothing to what the image tokens gather.
        let r = try lam(image: image, sentences: sentences, mask: mask)
        let changed = sentences.copy()
        for k in 0..<6 { changed.pointer[2 * 6 + k] = 9 }
        #expect(try lam(image: image, sentences: changed, mask: mask).imageContext.slice(axis: 0, 0, 1).scalars == r.imageContext.slice(axis: 0, 0, 1).scalars)

        let pool = SentenceAttentionPool(dim: 6, heads: 2, rng: &rng)
        try checkGradients([sentences, pool.attention.key.weight]) { t in try pool(t[0], mask: mask) }
        #expect(try pool(changed, mask: mask).slice(axis: 0, 0, 1).scalars == pool(sentences, mask: mask).slice(axis: 0, 0, 1).scalars)
    }

    @Test func decoderGradientsAgainstFiniteDifferences() throws {
        var rng = RNG(seed: 6, "test")
        let decoder = ImageDecoder(inputChannels: 4, channels: [3, 2], outputChannels: 1, rng: &rng)
        // BN shifts of 3 keep the ReLUs' inputs away from their kink, where central differences are wrong.
        for block in decoder.blocks { for bn in [block.bn1, block.bn2] { for c in 0..<bn.bias.count { bn.bias.pointer[c] = 3 } } }
        let z = randomTensor([2, 4, 2, 2], stream: 5)
        let out = try decoder(z)
        #expect(out.shape == [2, 1, 8, 8])
        try checkGradients([z, decoder.blocks[0].conv1.weight, decoder.blocks[1].bn2.weight, decoder.head.bias!], maxElements: 24) { t in try decoder(t[0]) }

        for causal in [false, true] {
            let sentences = SentenceDecoder(queries: 3, dim: 8, layers: 2, heads: 2, mlpRatio: 2, dropout: 0.1, causal: causal, rng: &rng)
            let image = randomTensor([2, 4, 8], stream: 6)
            let keys = FusionDropoutKeys(seed: 1, step: 2, pass: 7, firstRow: 0, training: true)
            try checkGradients([image, sentences.queries, sentences.positionEmbedding, sentences.layers[1].crossAttention.value.weight], maxElements: 24) { t in
                try sentences(image: t[0], keys: keys)
            }
            // Causal: the first query does not see the others (changing query 2 leaves output 0 alone).
            let evaluation = FusionDropoutKeys(seed: 1, step: 2, pass: 7, firstRow: 0, training: false)
            let before = try sentences(image: image, keys: evaluation)
            for k in 0..<8 { sentences.queries.pointer[2 * 8 + k] += 0.3 * Float(k % 3) }  // not constant: LayerNorm removes that
            let after = try sentences(image: image, keys: evaluation)
            let firstSame = try before.slice(axis: 1, 0, 1).scalars == after.slice(axis: 1, 0, 1).scalars
            #expect(firstSame == causal, "causal \(causal)")
        }
    }

    @Test func batchCoupledLossesAgainstFiniteDifferences() throws {
        let comm = LocalWorld(size: 1).communicators()[0]
        let a = try randomTensor([3, 4], stream: 7).l2Normalized(), b = try randomTensor([3, 4], stream: 8).l2Normalized()
        let kept = [true, false, true]
        try checkGradients([a, b, Tensor(Float(2.5))]) { t in
            try PRIORMethod.maskedInfoNCE(t[0], t[1], communicator: comm, kept: kept, keptAll: kept, rowOffset: 0, scale: t[2], divisor: 2).reshaped([1])
        }
        // A row left out changes nothing: the loss over rows {0, 2} of three equals that of the two alone.
        let full = try PRIORMethod.maskedInfoNCE(a, b, communicator: comm, kept: kept, keptAll: kept, rowOffset: 0, scale: Tensor(Float(2.5)), divisor: 2)
        let pair = try PRIORMethod.maskedInfoNCE(a.indexSelect(axis: 0, [0, 2]), b.indexSelect(axis: 0, [0, 2]), communicator: comm,
                                                 kept: [true, true], keptAll: [true, true], rowOffset: 0, scale: Tensor(Float(2.5)), divisor: 2)
        #expect(abs(full.item - pair.item) < 1e-5)
        // Intra-report contrast: mean over a report's sentences of InfoNCE both ways, padded sentences excluded.
        let s = randomTensor([2, 3, 4], stream: 9), g = randomTensor([2, 3, 4], stream: 10)
        try checkGradients([s, g, Tensor(Float(3))]) { t in
            try PRIORMethod.intraReportContrast(sentences: t[0], gathered: t[1], used: [2, 3], scale: t[2]).reshaped([1])
        }
        let value = try PRIORMethod.intraReportContrast(sentences: s, gathered: g, used: [2, 0], scale: Tensor(Float(3))).item
        let sn = try s.slice(axis: 0, 0, 1).slice(axis: 1, 0, 2).l2Normalized().reshaped([2, 4]), gn = try g.slice(axis: 0, 0, 1).slice(axis: 1, 0, 2).l2Normalized().reshaped([2, 4])
        let reference = try (gn.matmul(sn, transposeOther: true) * 3).crossEntropy(targets: [0, 1], reduction: .mean).item
            + (sn.matmul(gn, transposeOther: true) * 3).crossEntropy(targets: [0, 1], reduction: .mean).item
        #expect(abs(value - reference / 2) < 1e-5)
    }

    // MARK: stages and steps

    func context(stage: Int, step: Int = 3) -> StepContext {
        StepContext(step: step, epoch: 0, stage: StageInfo(index: stage, name: PRIORMethod.stages[stage], step: 0, steps: 1), seed: 5,
                    communicator: LocalWorld(size: 1).communicators()[0], globalBatch: 4, rowOffset: 0)
    }

    @Test func eachStageTrainsItsOwnModulesAndLogsItsTerms() throws {
        let expectedTerms = [["global", "local_image", "local_text"], ["prototype"],
                             ["image_reconstruction", "sentence_generation", "kl", "generated_alignment"]]
        for stage in 0..<3 {
            let method = try tinyPRIOR(tokenizer: Self.tokenizer)
            let b = try batch([0, 1, 2, 3], context: 48, training: true)
            let (loss, metrics) = try method.loss(b, context: context(stage: stage))
            #expect(loss.item.isFinite)
            try loss.backward()
            let trained = Set(PRIORModel.stageModules.prefix(stage + 1).flatMap { $0 })
            for p in method.model.namedParameters {
                let top = String(p.name.split(separator: ".").first!)
                // A gradient tensor at all (a residual branch behind a zero-initialised BN gets zeros, not none).
                let hasGradient = p.tensor.grad != nil
                #expect(hasGradient == trained.contains(top), "stage \(stage): \(p.name) has \(hasGradient ? "a" : "no") gradient")
            }
            #expect(Set(metrics.keys).isSuperset(of: expectedTerms.prefix(stage + 1).flatMap { $0 }), "\(metrics.keys)")
            #expect(Set(metrics.keys).isDisjoint(with: expectedTerms.suffix(2 - stage).flatMap { $0 }), "stage \(stage): \(metrics.keys)")
        }
    }

    @Test func reportsWithoutSentencesOrWithTooManyAreLeftOutAndCounted() throws {
        for overflow in ["truncate", "skip"] {
            let json = MethodRegistry.builtIn.first { $0.name == "prior" }!.testModel.dropLast() + #", "maxSentences": 1, "sentenceOverflow": "\#(overflow)"}"#
            let method = try tinyPRIOR(String(json), tokenizer: Self.tokenizer)
            let b = try batch([0, 1, 2, 3], context: 48, training: true)
            let text = try #require(b.text)
            // Row 1 loses every sentence (its tokens' sentence ids all -1, count 0).
            var owners = text.sentenceIDs!.values
            for j in 48..<96 { owners[j] = -1 }
            var counts = text.sentenceCounts!
            counts[1] = 0
            let changed = Batch(epoch: 1, indices: b.indices, images: b.images, reports: b.reports, labels: b.labels, labelMask: b.labelMask,
                                text: TextBatch(ids: text.ids, padding: text.padding, sentenceIDs: IndexTensor(shape: text.ids.shape, values: owners), sentenceCounts: counts))
            for stage in 0..<3 {
                let (loss, metrics) = try method.loss(changed, context: context(stage: stage))
                #expect(loss.item.isFinite, "\(overflow) stage \(stage)")
                let tooMany = counts.filter { $0 > 1 }.count
                #expect(metrics["skipped_reports"] == Float(1 + (overflow == "skip" ? tooMany : 0)), "\(overflow): \(counts)")
            }
        }
    }

    @Test func badSizesAndStageListsAreNamed() throws {
        func error(_ json: String) -> String {
            do { _ = try tinyPRIOR(json); return "" } catch { return "\(error)" }
        }
        #expect(error(#"{"resnetKind": "basic", "resnetBlocks": [1, 1], "resnetWidth": 4, "poolHeads": 2, "imageDecoderChannels": [8, 8]}"#)
            .contains("model.imageDecoderChannels lists 2 blocks"))
        #expect(error(#"{"resnetKind": "basic", "resnetBlocks": [1, 1], "resnetWidth": 4, "poolHeads": 3, "imageDecoderChannels": [8, 8, 4]}"#)
            .contains("model.poolHeads 3"))
        #expect(error(#"{"sentenceOverflow": "drop"}"#).contains("model.sentenceOverflow"))
        // A config whose stages are not alignment, prototypes, reconstruction fails at start-up naming train.stages.
        let dir = try makeTemporaryDirectory("prior-stages")
        let yaml = """
            method: prior
            model: \(MethodRegistry.builtIn.first { $0.name == "prior" }!.testModel)
            data:
              syntheticCount: 160
              imageSize: 16
              contextLength: 16
              vocabularySize: 200
            train:
              globalBatch: 4
              stages:
                - name: alignment
                  steps: 2
                - name: reconstruction
                  steps: 2
            """
        try yaml.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        #expect(throws: (any Error).self) { try train(dir + "/p.yaml", dir + "/run", ranks: 1) }
        do { try train(dir + "/p.yaml", dir + "/run", ranks: 1) } catch { #expect("\(error)".contains("train.stages"), "\(error)") }
    }

    // MARK: resume

    static let stagedRun = """
        method: prior
        seed: 4
        model: {"resnetKind": "basic", "resnetBlocks": [1, 1], "resnetWidth": 4, "poolHeads": 2, "textWidth": 16, "textDepth": 1, "textHeads": 2, "embedDim": 16, "sentencePoolHeads": 2, "prototypes": 8, "queries": 4, "sentenceDecoderLayers": 1, "sentenceDecoderHeads": 2, "imageDecoderChannels": [8, 8, 4]}
        data:
          syntheticCount: 160
          imageSize: 16
          contextLength: 24
          vocabularySize: 200
          workers: 1
        train:
          globalBatch: 8
          logEvery: 1
          checkpointEvery: 2
          stages:
            - name: alignment
              steps: 3
              learningRate: 1.0e-3
              warmupSteps: 1
            - name: prototypes
              steps: 4
              learningRate: 1.0e-3
              warmupSteps: 1
            - name: reconstruction
              steps: 2
              learningRate: 1.0e-3
              warmupSteps: 1
        eval:
          linearProbe: false
          zeroShot: false
          retrieval: false
          classifier: false
          compareUntrained: false
        """

    @Test func aRunStoppedInsideStageTwoResumesBitIdentically() throws {
        let a = try makeTemporaryDirectory("prior-a"), b = try makeTemporaryDirectory("prior-b")
        for dir in [a, b] { try Self.stagedRun.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8) }
        try train(a + "/p.yaml", a + "/run", ranks: 2)
        let stopped = try train(b + "/p.yaml", b + "/run", ranks: 2, stopAt: 5)  // stage 2 runs steps 3..<7
        #expect(stopped.steps == 5)
        let resumed = try train(b + "/p.yaml", b + "/run", ranks: 2)
        #expect(resumed.resumedFrom?.hasSuffix("step-00000005.ckpt") == true && resumed.steps == 9)
        let x = try finalCheckpoint(a + "/run"), y = try finalCheckpoint(b + "/run")
        #expect(x.state.step == 9 && y.state.step == 9)
        for (p, q) in zip(x.model + x.optimizer, y.model + y.optimizer) {
            #expect(p.name == q.name && p.tensor.scalars == q.tensor.scalars, "\(p.name) differs")
        }
        // The model records the stage it reached, for evaluation of the checkpoint.
        #expect(x.model.first { $0.name == "trainedStage" }?.tensor.scalars == [2])
    }

    @Test func theBalancedSingleFindingEvaluationTakesTheSameNumberOfEachFinding() throws {
        let dir = try makeTemporaryDirectory("prior-balanced")
        let five = ["Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Pleural Effusion"]
        let yaml = Self.stagedRun.replacingOccurrences(of: "syntheticCount: 160", with: "syntheticCount: 1200")
            .replacingOccurrences(of: "  classifier: false\n", with: "  classifier: true\n  bootstrap: 0\n  singleLabelClasses: [\(five.joined(separator: ", "))]\n  singleLabelPerClass: 3\n")
        try yaml.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let report = try #require(try train(dir + "/p.yaml", dir + "/run", ranks: 1).evaluation)
        let section = try #require(report.section("balanced_classifier"), "\(report.sections.map(\.key))")
        // The same number of each finding (at most 3; the rarest alone decides), every sample known for all five.
        let each = try #require(section.perClass.first?.positives)
        #expect((1...3).contains(each) && section.title.contains("\(each) x 5 single-finding samples"), "\(section.title)")
        #expect(section.perClass.map(\.name) == five && section.perClass.allSatisfy { $0.positives == each && $0.known == 5 * each }, "\(section.perClass)")
        let keys = Set(section.metrics.map(\.key))
        #expect(keys.isSuperset(of: ["single_label_accuracy", "single_label_macro_f1", "cohen_kappa"]), "\(keys)")
        // From further phantoms (never trained on) instead of the evaluation split: the full count of each.
        let further = yaml.replacingOccurrences(of: "  singleLabelPerClass: 3\n", with: "  singleLabelPerClass: 6\n  singleLabelSyntheticCount: 900\n")
        try further.write(toFile: dir + "/further.yaml", atomically: true, encoding: .utf8)
        let more = try #require(try train(dir + "/further.yaml", dir + "/run-further", ranks: 1).evaluation?.section("balanced_classifier"))
        #expect(more.title.contains("6 x 5 single-finding samples of 900 further phantoms") && more.perClass.allSatisfy { $0.positives == 6 }, "\(more.title)")
        // A finding the data does not have is named.
        let bad = yaml.replacingOccurrences(of: "Edema", with: "Oedema")
        try bad.write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        do { try train(dir + "/bad.yaml", dir + "/run-bad", ranks: 1); Issue.record("no error") } catch {
            #expect("\(error)".contains("eval.singleLabelClasses names 'Oedema'"), "\(error)")
        }
    }
}
