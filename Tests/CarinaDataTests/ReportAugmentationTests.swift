// Train-time report augmentation: one sentence (ConVIRT) or a subset of sentences, in report order, without
// section headers, the same for the same (seed, epoch, sample) and different across epochs.
// Not for: sentence splitting itself (SectionsAndMaskingTests).

import Testing
import CarinaData

@Suite struct ReportAugmentationTests {
    static let report = """
    EXAMINATION: Chest PA and lateral.
    FINDINGS: The heart is mildly enlarged. There is a small left pleural effusion. No pneumothorax.
    The osseous structures are intact.

    IMPRESSION: Cardiomegaly. Left pleural effusion.
    """
    static let sentences = ["The heart is mildly enlarged.", "There is a small left pleural effusion.", "No pneumothorax.",
                            "The osseous structures are intact.", "Cardiomegaly.", "Left pleural effusion."]

    /// Which sentences `text` is made of, as indices into `sentences`, in the order they appear.
    func indices(of text: String) -> [Int] {
        ReportSections.sentences(text).map { s in Self.sentences.firstIndex(of: s) ?? -1 }
    }

    @Test func noneKeepsTheReport() {
        #expect(ReportAugmentation.none.apply(Self.report, seed: 1, epoch: 0, sampleIndex: 3) == Self.report)
    }

    @Test func sentenceIsOneSentenceOfFindingsOrImpression() {
        var seen = Set<Int>()
        for epoch in 0..<60 {
            let text = ReportAugmentation.sentence.apply(Self.report, seed: 7, epoch: epoch, sampleIndex: 11)
            let picked = indices(of: text)
            #expect(picked.count == 1 && picked[0] >= 0, "'\(text)' is not one sentence of the report")
            seen.formUnion(picked)
            #expect(ReportAugmentation.sentence.apply(Self.report, seed: 7, epoch: epoch, sampleIndex: 11) == text)
        }
        // Every sentence is drawn at some epoch (60 draws of 6: all appear with probability > 0.99997).
        #expect(seen == Set(0..<6))
    }

    @Test func subsetKeepsSentencesInOrderAtTheGivenRate() {
        var kept = 0, draws = 0, differing = Set<String>()
        for sample in 0..<400 {
            let text = ReportAugmentation.subset(keep: 0.5).apply(Self.report, seed: 3, epoch: 2, sampleIndex: sample)
            let picked = indices(of: text)
            #expect(!picked.isEmpty && !picked.contains(-1) && picked == picked.sorted(), "'\(text)'")
            #expect(Set(picked).count == picked.count)
            #expect(!text.contains("EXAMINATION") && !text.contains("FINDINGS:"))
            kept += picked.count
            draws += 1
            differing.insert(text)
        }
        // Expected sentences kept: 1 forced + 5 × 0.5 = 3.5 per report; 400 reports, sd of the mean ≈ 0.056.
        let mean = Double(kept) / Double(draws)
        #expect(abs(mean - 3.5) < 0.3, "mean sentences kept \(mean)")
        #expect(differing.count > 30)
        // keep = 1: all sentences, headers gone.
        let all = ReportAugmentation.subset(keep: 1).apply(Self.report, seed: 3, epoch: 0, sampleIndex: 0)
        #expect(indices(of: all) == Array(0..<6))
    }

    @Test func oneSentenceReportsAndConfigSpellings() {
        #expect(ReportAugmentation.sentence.apply("FINDINGS: Normal chest.", seed: 1, epoch: 0, sampleIndex: 0) == "Normal chest.")
        #expect(ReportAugmentation.subset(keep: 0.1).apply("", seed: 1, epoch: 0, sampleIndex: 0) == "")
        #expect(ReportAugmentation(name: "none", keep: 0.5) == ReportAugmentation.none)
        #expect(ReportAugmentation(name: "sentence", keep: 0.5) == .sentence)
        #expect(ReportAugmentation(name: "subset", keep: 0.25) == .subset(keep: 0.25))
        #expect(ReportAugmentation(name: "subset", keep: 0) == nil)
        #expect(ReportAugmentation(name: "subset", keep: 1.5) == nil)
        #expect(ReportAugmentation(name: "sentences", keep: 0.5) == nil)
    }
}
