// Train-time text augmentation of a report: which of its sentences the report encoder sees this epoch.
// ConVIRT samples one sentence of the report per step; a subset keeps each sentence with a probability.
// Either way the encoder must read short texts — a negation ("No pleural effusion.") alone against a
// finding ("A small left pleural effusion is seen.") — instead of telling reports apart by which words
// they contain, and short texts are what zero-shot prompts are. Deterministic in (seed, epoch, sample).
// Not for: tokenisation (WordPieceTokenizer) or section parsing (ReportSections).
import CarinaTensor

public enum ReportAugmentation: Sendable, Equatable {
    /// The whole report.
    case none
    /// One sentence of FINDINGS + IMPRESSION, uniformly (ConVIRT).
    case sentence
    /// Each sentence kept with probability `keep` (at least one), in report order.
    case subset(keep: Float)

    /// From the config's spelling: none, sentence, or subset (with `keep` in (0, 1]); nil for anything else.
    public init?(name: String, keep: Float) {
        switch name {
        case "none": self = .none
        case "sentence": self = .sentence
        case "subset" where keep > 0 && keep <= 1: self = .subset(keep: keep)
        default: return nil
        }
    }

    /// The text the encoder sees for sample `sampleIndex` in `epoch`. Section headers go (the sentences of
    /// FINDINGS and IMPRESSION remain); a report without sentences is returned whole.
    public func apply(_ report: String, seed: UInt64, epoch: Int, sampleIndex: Int) -> String {
        if case .none = self { return report }
        let sentences = ReportSections.sentences(ReportSections.findingsAndImpression(report))
        guard sentences.count > 1 else { return sentences.first ?? report }
        var rng = RNG(seed: seed, "report-augment", epoch, sampleIndex)
        switch self {
        case .none: return report
        case .sentence: return sentences[rng.int(sentences.count)]
        case .subset(let keep):
            let forced = rng.int(sentences.count)  // the one kept whatever the draws say
            var kept: [String] = []
            for (i, s) in sentences.enumerated() where rng.uniform() < keep || i == forced { kept.append(s) }
            return kept.joined(separator: " ")
        }
    }
}
