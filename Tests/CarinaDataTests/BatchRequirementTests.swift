// What a method can ask its batches to carry: sentence-level token ids (each sentence tokenised on its own,
// shuffled per sample and epoch), MLM inputs keyed by sample, uncertain labels kept apart from absent ones,
// and image augmentation drawn k of n in random order with a horizontal flip — all the same on any thread
// count and for any batch a sample lands in.
import Foundation
import Testing
import CarinaData
import CarinaTensor

/// Phantoms whose sample 1 states Cardiomegaly as uncertain and has no Edema entry.
struct UncertainSource: SampleSource {
    let base = SyntheticCXR(count: 8, seed: 3, imageSize: 16)
    var count: Int { base.count }
    var classNames: [String] { base.classNames }
    func sample(at index: Int) throws -> Sample {
        var s = try base.sample(at: index)
        if index == 1 {
            s.labels["Cardiomegaly"] = -1
            s.labels["Edema"] = nil
        }
        return s
    }
}

@Suite struct BatchRequirementTests {
    static let source = SyntheticCXR(count: 16, seed: 5, imageSize: 16)
    static let tokenizer = try! WordPieceTokenizer(vocabulary: VocabularyBuilder.build(corpus: (0..<16).map { source.report(at: $0) }, size: 400))

    func assemble(_ wants: BatchRequirements, indices: [Int], epoch: Int = 2, training: Bool = true, threads: Int = 1, context: Int = 64) throws -> Batch {
        let text = TextPipeline(tokenizer: Self.tokenizer, contextLength: context, requirements: wants, training: training)
        return try BatchAssembler(source: Self.source, transform: ImageTransform(size: 16, train: false), seed: 7, text: text, threads: threads)
            .assemble(indices: indices, epoch: epoch).batch
    }

    @Test func sentencesAreTokenisedOneByOneAndEveryTokenKnowsItsSentence() throws {
        let t = 192  // room for every sentence of these reports
        let batch = try assemble(BatchRequirements(sentences: .init(shuffle: false)), indices: [0, 3], training: false, context: t)
        let text = try #require(batch.text)
        for (row, index) in [0, 3].enumerated() {
            let sentences = ReportSections.sentences(ReportSections.findingsAndImpression(Self.source.report(at: index)))
            let ids = Array(text.ids.values[(row * t)..<((row + 1) * t)]), owners = Array(text.sentenceIDs!.values[(row * t)..<((row + 1) * t)])
            #expect(text.sentenceCounts![row] == sentences.count)
            #expect(ids[0] == Self.tokenizer.clsID && owners[0] == -1)
            for (k, sentence) in sentences.enumerated() {
                // The tokens of sentence k are exactly the sentence tokenised alone.
                let mine = zip(ids, owners).filter { $0.1 == Int32(k) }.map(\.0)
                let alone = Self.tokenizer.tokenize(sentence).map { Self.tokenizer.id(of: $0) ?? Self.tokenizer.unkID }
                #expect(mine == alone, "sentence \(k) of \(index)")
            }
            let last = ids.lastIndex { $0 != Self.tokenizer.padID }!
            #expect(ids[last] == Self.tokenizer.sepID && owners[last] == -1)
        }
    }

    @Test func onlyWholeSentencesFitAndTheFirstIsCutWhenItAloneIsTooLong() {
        let tok = Self.tokenizer
        let s = tok.encodeSentences(["no pleural effusion.", "the heart is normal in size.", "no pneumothorax."], contextLength: 12)
        // [CLS] 4 tokens, then 7 tokens would not fit in 10: the second and third sentences are left out whole.
        #expect(s.count == 1 && s.sentenceIDs.filter { $0 == 0 }.count == 4 && !s.sentenceIDs.contains(1))
        #expect(s.ids[5] == tok.sepID && s.padding[5] == 1 && s.padding[6] == 0)
        let cut = tok.encodeSentences(["the heart is normal in size and the lungs are clear."], contextLength: 6)
        #expect(cut.count == 1 && cut.ids.first == tok.clsID && cut.ids.last == tok.sepID && cut.sentenceIDs.filter { $0 == 0 }.count == 4)
    }

    @Test func sentenceOrderIsShuffledPerSampleAndEpochWhateverTheBatch() throws {
        let wants = BatchRequirements(sentences: .init(shuffle: true))
        let a = try assemble(wants, indices: [4, 9], epoch: 1), b = try assemble(wants, indices: [9], epoch: 1, threads: 2)
        let c = try assemble(wants, indices: [9], epoch: 2)
        let row = { (batch: Batch, r: Int) -> [Int32] in Array(batch.text!.ids.values[(r * 64)..<((r + 1) * 64)]) }
        #expect(row(a, 1) == row(b, 0))
        let unshuffled = try assemble(BatchRequirements(sentences: .init(shuffle: false)), indices: [9], training: false)
        let orders: Set<[Int32]> = [row(b, 0), row(c, 0), row(unshuffled, 0)]
        #expect(orders.count > 1, "the order never changed")
    }

    @Test func maskedTokensAreKeyedBySampleAndLabelOnlyWhatWasMasked() throws {
        let wants = BatchRequirements(maskedTokens: .init(probability: 0.3))
        let a = try assemble(wants, indices: [2, 6]), b = try assemble(wants, indices: [6, 11], threads: 2)
        let text = try #require(a.text)
        let (ids, masked, labels) = (text.ids.values, text.maskedIDs!.values, text.maskLabels!.values)
        #expect(Array(masked[64..<128]) == Array(b.text!.maskedIDs!.values[0..<64]))
        let specials: Set<Int32> = [Self.tokenizer.clsID, Self.tokenizer.sepID, Self.tokenizer.padID]
        var chosen = 0
        for i in ids.indices {
            if labels[i] == -100 {
                #expect(masked[i] == ids[i])
            } else {
                chosen += 1
                #expect(labels[i] == ids[i] && !specials.contains(ids[i]))
            }
        }
        #expect(chosen > 0 && masked.contains(Self.tokenizer.maskID))
        // Evaluation batches are not masked.
        let plain = try assemble(wants, indices: [2], training: false).text!
        #expect(plain.maskedIDs!.values == plain.ids.values && plain.maskLabels!.values.allSatisfy { $0 == -100 })
    }

    @Test func uncertainLabelsAreKeptApartFromAbsentOnes() throws {
        let batch = try BatchAssembler(source: UncertainSource(), transform: ImageTransform(size: 16, train: false), seed: 1)
            .assemble(indices: [0, 1], epoch: 0).batch
        let names = UncertainSource().classNames, c = names.count
        let cardio = names.firstIndex(of: "Cardiomegaly")!, edema = names.firstIndex(of: "Edema")!
        #expect(batch.labelMask[1, cardio] == 0 && batch.uncertain[1, cardio] == 1 && batch.labels[1, cardio] == -1)
        #expect(batch.labelMask[1, edema] == 0 && batch.uncertain[1, edema] == 0)  // absent: neither known nor uncertain
        #expect(batch.uncertain.scalars[0..<c].allSatisfy { $0 == 0 })
    }

    func run(_ transform: ImageTransform, _ epoch: Int, _ index: Int) throws -> [Float] {
        let image = try Self.source.sample(at: index).image
        var out = [Float](repeating: 0, count: 256)
        out.withUnsafeMutableBufferPointer { transform.apply(image, seed: 4, epoch: epoch, sampleIndex: index, into: $0.baseAddress!) }
        return out
    }

    @Test func kOfNAugmentationsAndTheFlipDependOnTheSampleOnly() throws {
        var t = ImageTransform(size: 16, train: true)
        (t.choose, t.horizontalFlip) = (2, 0.5)
        #expect(try run(t, 0, 3) == run(t, 0, 3))
        var outputs: Set<[Float]> = []
        for epoch in 0..<6 { outputs.insert(try run(t, epoch, 3)) }
        #expect(outputs.count == 6)
    }

    @Test func theFlipMirrorsWhatTheSameDrawsGiveUnflipped() throws {
        var unflipped = ImageTransform(size: 16, train: true), flipped = ImageTransform(size: 16, train: true)
        (unflipped.choose, flipped.choose, unflipped.horizontalFlip, flipped.horizontalFlip) = (2, 2, 0, 1)
        for epoch in 0..<3 {
            let plain = try run(unflipped, epoch, 3), mirrored = try run(flipped, epoch, 3)
            var expected = [Float](repeating: 0, count: 256)
            for v in 0..<16 {
                for u in 0..<16 { expected[v * 16 + u] = plain[v * 16 + 15 - u] }
            }
            #expect(mirrored == expected, "epoch \(epoch)")
        }
    }

    @Test func chooseOneDrawsOneOfTheFour() throws {
        // With rotation, translation and intensity set to do nothing, a sample comes out as the evaluation
        // transform leaves it unless the one drawn was the crop.
        var one = ImageTransform(size: 16, train: true)
        (one.choose, one.rotationDegrees, one.translate, one.brightness, one.contrast) = (1, 0, 0, 0, 0)
        let reference = try run(ImageTransform(size: 16, train: false), 0, 3)
        var untouched: [Bool] = []
        for epoch in 0..<16 {
            let out = try run(one, epoch, 3)
            var same = true
            for i in 0..<256 where abs(out[i] - reference[i]) > 1e-4 { same = false }
            untouched.append(same)
        }
        #expect(untouched.contains(true) && untouched.contains(false), "\(untouched)")
    }
}
