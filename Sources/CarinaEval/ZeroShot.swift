// Zero-shot classification from prompts: per finding a positive and a negative prompt ("{finding} is
// observed" / "no {finding}"), embedded by the report encoder; an image's logit of the finding is its
// scaled similarity margin, its probability the softmax over the pair. Not for: embedding (the model does).
import CarinaNN
import Foundation

public enum ZeroShot {
    /// Carina's prompt pair, worded as the reports word findings: "{} is observed" / "no {}".
    public static let defaultTemplates = (positive: "{} is observed", negative: "no {}")

    /// The prompt pair of a finding from templates whose "{}" stands for the finding, lower-cased as
    /// reports are (PsPG's fixed-prompt baseline: "Findings suggesting {}." / "No evidence of {}.").
    public static func prompts(for finding: String, templates: (positive: String, negative: String) = defaultTemplates)
        -> (positive: String, negative: String) {
        let f = finding.lowercased()
        return (templates.positive.replacingOccurrences(of: "{}", with: f), templates.negative.replacingOccurrences(of: "{}", with: f))
    }

    /// images (N, E), positive and negative prompt embeddings (C, E), all L2-normalised -> logits (N, C) =
    /// scale · (img·pos − img·neg). Rank by these: the sigmoid is monotone, so AUC is the same, except that
    /// in Float32 it saturates to exactly 1 once the logit passes ~17 and ties images it should order.
    public static func logits(images: Tensor, positive: Tensor, negative: Tensor, scale: Float) throws -> Tensor {
        try Autograd.withoutGrad {
            let pos = try images.matmul(positive, transposeOther: true)  // (N, C)
            let neg = try images.matmul(negative, transposeOther: true)  // (N, C)
            return try (pos - neg) * scale
        }
    }

    /// Probabilities (N, C) = softmax over {pos, neg} of scale · similarity, i.e. σ(logits).
    public static func probabilities(images: Tensor, positive: Tensor, negative: Tensor, scale: Float) throws -> Tensor {
        try Autograd.withoutGrad { try logits(images: images, positive: positive, negative: negative, scale: scale).sigmoid() }
    }
}
