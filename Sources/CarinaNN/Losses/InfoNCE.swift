import Foundation
// Symmetric InfoNCE (CLIP / ConVIRT) with a learnable temperature, in the local-loss form that
// data-parallel training needs: this rank's rows against every rank's columns, summed and divided by
// the global batch, so that summing the per-rank losses (and gradients) gives the one-process loss.

/// The learnable logit scale s = exp(t), t initialised to ln(1/0.07). As in CLIP and open_clip the
/// parameter itself is clamped to [0, ln 100] after each optimizer step (`clampToRange`), not in the
/// forward pass: a forward clamp has no gradient beyond the bound, so a scale that crossed ln 100 would
/// stay stuck there.
public final class LogitScale: Module {
    public let value: Tensor  // () log-scale t
    public static let maxLog: Float = 4.605_170_2  // ln 100

    public init(initialTemperature: Float = 0.07) {
        value = parameter(Tensor(Swift.max(0, Foundation.log(1 / initialTemperature))))
    }

    /// s = exp(t)
    public func callAsFunction() -> Tensor {
        value.exp()
    }

    /// t ← clamp(t, 0, ln 100), in place (after an optimizer step; a NaN stays NaN so the run's
    /// non-finite check sees it).
    public func clampToRange() {
        let t = value.pointer[0]
        if t > LogitScale.maxLog { value.pointer[0] = LogitScale.maxLog } else if t < 0 { value.pointer[0] = 0 }
    }
}

public enum InfoNCE {
    /// Symmetric cross-entropy of image-to-text and text-to-image similarities.
    /// - image, text: this rank's L2-normalised embeddings (b, D); row i of each is a positive pair.
    /// - allImage, allText: every rank's embeddings concatenated (N, D) (the all-gather with gradient);
    ///   pass `image` and `text` themselves in a single process.
    /// - rowOffset: where this rank's rows start among the N.
    /// - globalBatch: N, the divisor, so that per-rank losses sum to the mean over the global batch.
    /// Returns (loss, logits image->text (b, N)).
    public static func loss(image: Tensor, text: Tensor, allImage: Tensor, allText: Tensor, rowOffset: Int = 0,
                            globalBatch: Int? = nil, scale: Tensor) throws -> (loss: Tensor, logits: Tensor) {
        guard image.rank == 2, image.shape == text.shape else {
            throw TensorError.shapeMismatch(op: "info_nce", shapes: [image.shape, text.shape], detail: "image and text embeddings must both be (b, D)")
        }
        guard allImage.rank == 2, allImage.shape == allText.shape, allImage.shape[1] == image.shape[1] else {
            throw TensorError.shapeMismatch(op: "info_nce", shapes: [allImage.shape, allText.shape], detail: "gathered embeddings must both be (N, D)")
        }
        let (b, n) = (image.shape[0], allImage.shape[0])
        guard rowOffset >= 0, rowOffset + b <= n else {
            throw TensorError.outOfRange(op: "info_nce", detail: "rows \(rowOffset)..<\(rowOffset + b) outside the \(n) gathered rows")
        }
        let targets = (0..<b).map { Int32(rowOffset + $0) }
        let imageToText = try image.matmul(allText, transposeOther: true) * scale  // (b, N)
        let textToImage = try text.matmul(allImage, transposeOther: true) * scale  // (b, N)
        let sum = try imageToText.crossEntropy(targets: targets, reduction: .sum)
            + textToImage.crossEntropy(targets: targets, reduction: .sum)
        return (sum / Float(2 * (globalBatch ?? n)), imageToText)
    }

    /// Single-process form: all rows are local.
    public static func loss(image: Tensor, text: Tensor, scale: Tensor) throws -> Tensor {
        try loss(image: image, text: text, allImage: image, allText: text, scale: scale).loss
    }
}
