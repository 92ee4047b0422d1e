// Multi-label losses for PsPG-style classification: Asymmetric Loss (Ridnik et al. ICCV 2021, with the
// constants PsPG uses) and the soft pairwise co-occurrence loss. Labels are 1 positive, 0 negative and
// -1 uncertain/ignored (CheXpert). The caller's label tensor is never modified (PsPG's code mutates it).

public enum AsymmetricLoss {
    /// ASL on logits x (B, C) against labels y (B, C) in {1, 0, -1}:
    /// p = σ(x), p⁻ = min(1 - p + clip, 1); ℓ = y log max(p, eps) + (1 - y) log max(p⁻, eps);
    /// pt = y p + (1 - y) p⁻; w = (1 - pt)^(γ⁺ y + γ⁻ (1 - y)) (no gradient through w unless
    /// `focusingGradient`); loss = -Σ w ℓ over entries with y ≠ -1 (a sum, as PsPG; `.mean` divides by
    /// the number of those entries).
    public static func loss(logits x: Tensor, labels y: Tensor, gammaPositive: Float = 1, gammaNegative: Float = 2,
                            clip: Float = 0.05, eps: Float = 1e-6, focusingGradient: Bool = false,
                            reduction: Reduction = .sum) throws -> Tensor {
        guard x.shape == y.shape, x.rank == 2 else {
            throw TensorError.shapeMismatch(op: "asymmetric_loss", shapes: [x.shape, y.shape], detail: "logits and labels must both be (B, C)")
        }
        let n = x.count
        // valid (1 where y != -1), positive targets (1 where y == 1), focusing exponent
        let valid = Tensor(uninitialized: y.shape), target = Tensor(uninitialized: y.shape)
        var validCount = 0
        for i in 0..<n {
            let v = y.pointer[i]
            guard v == 1 || v == 0 || v == -1 else {
                throw TensorError.invalidArgument(op: "asymmetric_loss", detail: "label \(v) at element \(i); expected 1, 0 or -1")
            }
            valid.pointer[i] = v == -1 ? 0 : 1
            target.pointer[i] = v == 1 ? 1 : 0
            validCount += v == -1 ? 0 : 1
        }
        let p = x.sigmoid()
        let pNeg = clip > 0 ? (1 - p + clip).clamped(max: 1) : 1 - p
        let logTerm = try target * p.clamped(min: eps).log() + (1 - target) * pNeg.clamped(min: eps).log()
        var loss = try logTerm * valid
        if gammaPositive > 0 || gammaNegative > 0 {
            let pt = try target * p + (1 - target) * pNeg
            let exponent = target * (gammaPositive - gammaNegative) + gammaNegative
            let focus = try ((1 - pt).clamped(min: 1e-12).log() * exponent).exp()  // (1 - pt)^exponent
            loss = try loss * (focusingGradient ? focus : focus.detached())
        }
        let total = try -loss.sum()
        return reduction == .mean ? total / Float(Swift.max(validCount, 1)) : total
    }
}

public enum PairCooccurrenceLoss {
    /// Soft pairwise co-occurrence loss (PsPG's MultilabelPairLoss with max pooling): for each unordered
    /// class pair (j < k, row-major, as `pairs(classes:)` lists them) the target is 1 if some image of the
    /// batch has both findings; the pair's logit is the maximum over the batch of `pairLogits` (B, P);
    /// loss = mean BCE-with-logits over the P pairs. Labels (B, C): -1 counts as absent (as PsPG).
    public static func loss(pairLogits q: Tensor, labels y: Tensor) throws -> Tensor {
        guard y.rank == 2, q.rank == 2, q.shape[0] == y.shape[0] else {
            throw TensorError.shapeMismatch(op: "pair_loss", shapes: [q.shape, y.shape], detail: "pair logits (B, P) and labels (B, C) must share B")
        }
        let (b, c) = (y.shape[0], y.shape[1])
        let pairs = pairs(classes: c)
        guard q.shape[1] == pairs.count else {
            throw TensorError.shapeMismatch(op: "pair_loss", shapes: [q.shape, y.shape], detail: "\(c) classes make \(pairs.count) pairs")
        }
        let target = Tensor.zeros([pairs.count])
        for (index, (j, k)) in pairs.enumerated() {
            for s in 0..<b where y[s, j] == 1 && y[s, k] == 1 {
                target.pointer[index] = 1
                break
            }
        }
        return try q.max(axis: 0).binaryCrossEntropyWithLogits(targets: target)
    }

    /// The unordered class pairs (j, k), j < k, in row-major order of the strict upper triangle.
    public static func pairs(classes c: Int) -> [(Int, Int)] {
        var out: [(Int, Int)] = []
        for j in 0..<c { for k in (j + 1)..<Swift.max(c, j + 1) { out.append((j, k)) } }
        return out
    }
}
