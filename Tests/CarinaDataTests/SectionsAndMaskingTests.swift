// Report sections and sentences, and masking for masked image/language modelling.
import Foundation
import Testing
import CarinaData

private let iuReports = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("../shared/data/iu-xray-reports/reports.csv").standardizedFileURL.path

@Suite struct SectionsAndMaskingTests {
    let mimic = """
                                     FINAL REPORT
     EXAMINATION:  CHEST (PA AND LAT)

     INDICATION:  ___ with cough
     COMPARISON:  None.
     FINDINGS:
     The lungs are clear.  Heart size is
     normal. No pleural effusion.

     IMPRESSION:
     No acute cardiopulmonary process.
    """

    @Test func findingsAndImpressionWithoutTheOtherSections() {
        #expect(ReportSections.section("FINDINGS", in: mimic) == "The lungs are clear. Heart size is normal. No pleural effusion.")
        #expect(ReportSections.section("impression", in: mimic) == "No acute cardiopulmonary process.")
        #expect(ReportSections.findingsAndImpression(mimic) == "The lungs are clear. Heart size is normal. No pleural effusion. No acute cardiopulmonary process.")
        #expect(ReportSections.findingsAndImpression("Normal chest.\n") == "Normal chest.")
        #expect(ReportSections.section("INDICATION", in: mimic) == "___ with cough")
    }

    @Test func sentencesRespectDecimalsAndAbbreviations() {
        #expect(ReportSections.sentences("A 2.5 cm nodule, e.g. granuloma. No effusion! Is there edema? ___. Dr. Smith called.") ==
                ["A 2.5 cm nodule, e.g. granuloma.", "No effusion!", "Is there edema?", "Dr. Smith called."])
        #expect(ReportSections.sentences("No. 5 tube. No.") == ["No. 5 tube.", "No."])
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: iuReports), "IU X-ray reports not found at ../shared/data (shared data absent)"))
    func realIUReportsSplitIntoSections() throws {
        let table = try CSVTable(path: iuReports)
        let (r, f, i) = (try table.column("report"), try table.column("findings"), try table.column("impression"))
        var agree = 0, total = 0
        for row in table.rows where !row[f].isEmpty {
            total += 1
            if ReportSections.section("FINDINGS", in: row[r]) == ReportSections.collapse(row[f]) { agree += 1 }
            if !row[i].isEmpty { #expect(!ReportSections.sentences(row[i]).isEmpty) }
        }
        // The CSV's own findings column was extracted the same way: nearly every report agrees.
        #expect(Double(agree) / Double(total) > 0.95, "\(agree) of \(total)")
    }

    @Test func patchMaskKeepsMAEsCountAndDependsOnTheSampleOnly() {
        let a = PatchMask.random(patches: 64, ratio: 0.75, seed: 1, epoch: 0, sampleIndex: 7)
        #expect(a.keep.count == 16 && a.masked.count == 48)
        #expect(a.keep == a.keep.sorted() && Set(a.keep + a.masked) == Set(0..<64))
        #expect(PatchMask.random(patches: 64, ratio: 0.75, seed: 1, epoch: 0, sampleIndex: 7) == a)
        #expect(PatchMask.random(patches: 64, ratio: 0.75, seed: 1, epoch: 0, sampleIndex: 8).keep != a.keep)
        #expect(PatchMask.random(patches: 197, ratio: 0.75, seed: 1, epoch: 0, sampleIndex: 0).keep.count == 49)  // int(197 * 0.25)
    }

    @Test func tokenMaskingFollowsTheEightyTenTenRule() throws {
        let vocab = WordPieceTokenizer.specialTokens + (0..<200).map { "w\($0)" } + ["##s"]
        let tokenizer = try WordPieceTokenizer(vocabulary: vocab)
        var chosen = 0, masked = 0, kept = 0, total = 0
        for sample in 0..<2000 {
            let words = (0..<20).map { "w\(($0 * 7 + sample) % 200)" }.joined(separator: " ")
            let (ids, _) = tokenizer.encode(words, contextLength: 32)
            let (out, labels) = TokenMasking.mask(ids: ids, tokenizer: tokenizer, seed: 3, epoch: 0, sampleIndex: sample)
            #expect(labels[0] == -100 && labels[21] == -100 && labels[22] == -100)  // [CLS], [SEP], [PAD]
            for i in 1...20 {
                total += 1
                guard labels[i] != -100 else { #expect(out[i] == ids[i]); continue }
                chosen += 1
                #expect(labels[i] == ids[i])
                if out[i] == tokenizer.maskID { masked += 1 } else if out[i] == ids[i] { kept += 1 }
            }
        }
        let rate = Double(chosen) / Double(total)
        #expect(abs(rate - 0.15) < 0.01, "\(rate)")
        #expect(abs(Double(masked) / Double(chosen) - 0.8) < 0.02)
        // Unchanged: the 10 % kept plus random replacements that drew the same token (1/200 of 10 %).
        #expect(abs(Double(kept) / Double(chosen) - 0.1) < 0.02)
    }

    @Test func wholeWordMaskingNeverSplitsAWord() throws {
        let tokenizer = try WordPieceTokenizer(vocabulary: WordPieceTokenizer.specialTokens + ["effusion", "pleu", "##ral", "##s", "no", "small"])
        for sample in 0..<300 {
            let (ids, _) = tokenizer.encode("no pleural effusions small pleural", contextLength: 12)
            let (_, labels) = TokenMasking.mask(ids: ids, tokenizer: tokenizer, probability: 0.5, wholeWord: true, seed: 1, epoch: 0, sampleIndex: sample)
            // pleu ##ral at 2-3, effusion ##s at 4-5, pleu ##ral at 7-8
            for (a, b) in [(2, 3), (4, 5), (7, 8)] { #expect((labels[a] == -100) == (labels[b] == -100)) }
        }
    }
}
