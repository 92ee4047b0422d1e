// Mean squared error on selected rows: MAE-style pixel reconstruction where only masked patches count.

public enum MaskedMSE {
    /// prediction, target (B, N, D); mask (B, N) with 1 = counted. Each row's error is the mean over D;
    /// the loss is the mean over counted rows (0 if none), i.e. Σ mask·mean_D (p - t)² / Σ mask.
    public static func loss(prediction p: Tensor, target t: Tensor, mask: Tensor) throws -> Tensor {
        guard p.shape == t.shape, p.rank == 3 else {
            throw TensorError.shapeMismatch(op: "masked_mse", shapes: [p.shape, t.shape], detail: "prediction and target must both be (B, N, D)")
        }
        guard mask.shape == Array(p.shape.prefix(2)) else {
            throw TensorError.shapeMismatch(op: "masked_mse", shapes: [p.shape, mask.shape], detail: "mask must be (B, N)")
        }
        let counted = mask.scalars.reduce(0, +)
        let perRow = try (p - t.detached()).square().mean(axis: -1)  // (B, N)
        return try (perRow * mask.detached()).sum() / Swift.max(counted, 1)
    }
}
