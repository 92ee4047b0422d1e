// Zero-shot classification from prompts: per finding a positive and a negative prompt ("{finding} is
// observed" / "no {finding}"), embedded by the report encoder; an image's probability of the finding is
// the softmax over the pair of its scaled similarities. Not for: embedding (the model does).
import CarinaNN

public enum ZeroShot {
    /// The prompt pair of a finding, lower-cased as reports are.
    public static func prompts(for finding: String) -> (positive: String, negative: String) {
        let f = finding.lowercased()
        return ("\(f) is observed", "no \(f)")
    }

    /// images (N, E), positive and negative prompt embeddings (C, E), all L2-normalised -> probabilities
    /// (N, C) = softmax over {pos, neg} of scale · similarity, i.e. σ(scale · (img·pos − img·neg)).
    public static func probabilities(images: Tensor, positive: Tensor, negative: Tensor, scale: Float) throws -> Tensor {
        try Autograd.withoutGrad {
            let pos = try images.matmul(positive, transposeOther: true)  // (N, C)
            let neg = try images.matmul(negative, transposeOther: true)  // (N, C)
            return try ((pos - neg) * scale).sigmoid()
        }
    }
}
