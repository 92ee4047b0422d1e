// Multi-head attention layers: self-attention with one fused QKV projection (the attention op reads
// q, k, v in place from it), and cross-attention whose queries come from one sequence and keys/values
// from another (M3AE's fusion, PRIOR's local alignment, PsPG's decoder).

public final class SelfAttention: Module {
    public let qkv: Linear  // C -> 3C, [q | k | v]
    public let proj: Linear  // C -> C
    public let heads: Int

    public init(dim: Int, heads: Int, std: Float? = 0.02, rng: inout RNG) {
        precondition(dim % heads == 0, "\(dim) channels do not split into \(heads) heads")
        qkv = Linear(dim, 3 * dim, std: std, rng: &rng)
        proj = Linear(dim, dim, std: std, rng: &rng)
        self.heads = heads
    }

    /// x (B, T, C); keyPadding (B, T) with 1 = token, 0 = padding -> (B, T, C)
    /// `dropout` drops attention probabilities (training only; the caller passes nil in evaluation).
    public func callAsFunction(_ x: Tensor, keyPadding: Tensor? = nil, causal: Bool = false, dropout: AttentionDropout? = nil) throws -> Tensor {
        let fused = try qkv(x)  // (B, T, 3C)
        return try proj(Tensor.selfAttention(qkv: fused, heads: heads, keyPadding: keyPadding, causal: causal, dropout: dropout))
    }
}

public final class CrossAttention: Module {
    public let query: Linear  // C -> C
    public let key: Linear  // Ckv -> C
    public let value: Linear  // Ckv -> C
    public let proj: Linear  // C -> outDim (C unless given)
    public let heads: Int

    public init(dim: Int, contextDim: Int? = nil, heads: Int, outDim: Int? = nil, std: Float? = 0.02, rng: inout RNG) {
        precondition(dim % heads == 0, "\(dim) channels do not split into \(heads) heads")
        let kv = contextDim ?? dim
        query = Linear(dim, dim, std: std, rng: &rng)
        key = Linear(kv, dim, std: std, rng: &rng)
        value = Linear(kv, dim, std: std, rng: &rng)
        proj = Linear(dim, outDim ?? dim, std: std, rng: &rng)
        self.heads = heads
    }

    /// x (B, Tq, C) attends over context (B, Tk, Ckv); contextPadding (B, Tk) -> (B, Tq, C)
    public func callAsFunction(_ x: Tensor, context: Tensor, contextPadding: Tensor? = nil, dropout: AttentionDropout? = nil) throws -> Tensor {
        let out = try Tensor.attention(q: query(x), k: key(context), v: value(context), heads: heads, keyPadding: contextPadding, dropout: dropout)
        return try proj(out)
    }
}
