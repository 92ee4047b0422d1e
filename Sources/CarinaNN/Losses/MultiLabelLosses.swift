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

/// PsPG's ranking term (PyTorch's MultiLabelMarginLoss on one flattened vector): over the N known entries
/// (image, class) of the batch with probabilities x and labels y, (1/N) Σ_{i: y=1} Σ_{j: y=0}
/// max(0, 1 − (x_i − x_j)). Unknown entries (-1) take no part; zero when there is no positive.
public enum RankingLoss {
    public static func loss(probabilities x: Tensor, labels y: Tensor) throws -> Tensor {
        guard x.shape == y.shape else {
            throw TensorError.shapeMismatch(op: "ranking_loss", shapes: [x.shape, y.shape], detail: "probabilities and labels must have one shape")
        }
        var positive: [Int] = [], negative: [Int] = []
        for i in 0..<y.count {
            switch y.pointer[i] {
            case 1: positive.append(i)
            case 0: negative.append(i)
            case -1: break
            case let v: throw TensorError.invalidArgument(op: "ranking_loss", detail: "label \(v) at element \(i); expected 1, 0 or -1")
            }
        }
        let n = Float(positive.count + negative.count)
        let flat = try x.reshaped([x.count])
        guard !positive.isEmpty, !negative.isEmpty else { return try flat.sum() * 0 }
        let p = try flat.indexSelect(axis: 0, positive).reshaped([positive.count, 1])
        let q = try flat.indexSelect(axis: 0, negative).reshaped([1, negative.count])
        return try (1 - p + q).relu().sum() / n
    }
}

public enum PairCooccurrenceLoss {
    /// How a pair's target comes from the batch.
    public enum Target: String, Sendable, Codable {
        /// 1 if some image of the batch has both findings (the official code: a binarised co-occurrence
        /// count, -1 read as absent).
        case binary
        /// The fraction of the batch's images with either finding that have both (Jaccard over the batch;
        /// images with either label unknown take no part): the soft co-occurrence the paper describes.
        case soft
    }

    /// Pairwise co-occurrence loss (PsPG's MultilabelPairLoss with max pooling): for each unordered class
    /// pair (j < k, row-major, as `pairs(classes:)` lists them) the pair's logit is the maximum over the
    /// batch of `pairLogits` (B, P); loss = mean BCE-with-logits over the P pairs against `target`.
    /// Labels (B, C) in {1, 0, -1}; the caller's labels are never modified.
    public static func loss(pairLogits q: Tensor, labels y: Tensor, target kind: Target = .binary) throws -> Tensor {
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
            var both = 0, either = 0
            for s in 0..<b {
                let (a, c) = (y[s, j], y[s, k])
                if a == 1 && c == 1 { both += 1 }
                if (a == 1 || c == 1) && a != -1 && c != -1 { either += 1 }
            }
            switch kind {
            case .binary: target.pointer[index] = both > 0 ? 1 : 0
            case .soft: target.pointer[index] = either > 0 ? Float(both) / Float(either) : 0
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
