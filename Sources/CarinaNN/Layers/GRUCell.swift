// GRU cell (PyTorch's gate layout: weights (3H, ·) in r, z, n order). PsPG's prompt decoder runs it
// step by step to write class-tailored prompt vectors.

public final class GRUCell: Module {
    public let weightIH: Tensor  // (3H, I)
    public let weightHH: Tensor  // (3H, H)
    public let biasIH: Tensor  // (3H)
    public let biasHH: Tensor  // (3H)
    public let hidden: Int

    public init(input: Int, hidden: Int, rng: inout RNG) {
        let bound = 1 / Float(hidden).squareRoot()
        weightIH = Init.uniform([3 * hidden, input], bound: bound, rng: &rng)
        weightHH = Init.uniform([3 * hidden, hidden], bound: bound, rng: &rng)
        biasIH = Init.uniform([3 * hidden], bound: bound, rng: &rng)
        biasHH = Init.uniform([3 * hidden], bound: bound, rng: &rng)
        self.hidden = hidden
    }

    /// x (B, I), h (B, H) -> h' (B, H):
    /// r = σ(x Wir + h Whr), z = σ(x Wiz + h Whz), n = tanh(x Win + r ⊙ (h Whn)), h' = (1 - z) ⊙ n + z ⊙ h
    /// (each product with its bias).
    public func callAsFunction(_ x: Tensor, _ h: Tensor) throws -> Tensor {
        let gi = try x.linear(weight: weightIH, bias: biasIH)  // (B, 3H)
        let gh = try h.linear(weight: weightHH, bias: biasHH)  // (B, 3H)
        let H = hidden
        let r = try (gi.slice(axis: 1, 0, H) + gh.slice(axis: 1, 0, H)).sigmoid()
        let z = try (gi.slice(axis: 1, H, 2 * H) + gh.slice(axis: 1, H, 2 * H)).sigmoid()
        let n = try (gi.slice(axis: 1, 2 * H, 3 * H) + r * gh.slice(axis: 1, 2 * H, 3 * H)).tanh()
        return try (1 - z) * n + z * h
    }
}

/// Attention pooling over a token sequence with one learned query (B, T, C) -> (B, C); padding (B, T)
/// marks tokens to ignore. Used to pool sentence or region tokens into one vector.
public final class AttentionPool: Module {
    public let query: Tensor  // (C)
    public let attention: CrossAttention

    public init(dim: Int, heads: Int, rng: inout RNG) {
        query = Init.truncatedNormal([dim], std: 0.02, rng: &rng)
        attention = CrossAttention(dim: dim, heads: heads, rng: &rng)
    }

    public func callAsFunction(_ tokens: Tensor, padding: Tensor? = nil) throws -> Tensor {
        let (b, c) = (tokens.shape[0], tokens.shape[2])
        let q = try query.reshaped([1, 1, c]).expanded(to: [b, 1, c])
        return try attention(q, context: tokens, contextPadding: padding).reshaped([b, c])
    }
}
