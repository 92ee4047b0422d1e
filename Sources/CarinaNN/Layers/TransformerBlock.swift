// The transformer block: pre-norm x + SelfAttn(LN(x)), [x + CrossAttn(LN(x), context)], x + MLP(LN(x)) by
// default, or post-norm LN(x + SelfAttn(x)), [LN(h + CrossAttn(h, context))], LN(h + MLP(h)) as BERT and
// RoBERTa compute it. Encoders (ViT, text), M3AE's fusion and decoder, and PRIOR's modules are stacks of these.

public final class MLP: Module {
    public let fc1: Linear  // C -> hidden
    public let fc2: Linear  // hidden -> C
    public let activation: Activation

    public init(dim: Int, hidden: Int, activation: Activation = .gelu, std: Float? = 0.02, rng: inout RNG) {
        fc1 = Linear(dim, hidden, std: std, rng: &rng)
        fc2 = Linear(hidden, dim, std: std, rng: &rng)
        self.activation = activation
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try fc2(activation(fc1(x)))
    }
}

public final class TransformerBlock: Module {
    public let norm1: LayerNorm
    public let attn: SelfAttention
    public let crossNorm: LayerNorm?
    public let crossAttn: CrossAttention?
    public let norm2: LayerNorm
    public let mlp: MLP
    /// Post-norm (BERT: each LayerNorm after its residual sum) instead of pre-norm. The names stay: `norm1`
    /// follows self-attention (BERT's `attention.output.LayerNorm`), `norm2` the MLP (`output.LayerNorm`).
    public let postNorm: Bool
    /// Activation recomputation (`train.recomputeActivations`): when training, the block keeps only its
    /// inputs and output between forward and backward and computes its inside again during backward
    /// (`Autograd.recomputed`); the same values and gradients for about one more forward pass.
    public var recomputesActivations = false

    /// `contextDim` adds a cross-attention sub-layer over a context sequence of that width. `hidden` is the
    /// MLP's width when given (BERT's intermediate_size), else dim x mlpRatio rounded.
    public init(dim: Int, heads: Int, mlpRatio: Float = 4, hidden: Int? = nil, activation: Activation = .gelu, contextDim: Int? = nil,
                eps: Float = 1e-5, postNorm: Bool = false, rng: inout RNG) {
        norm1 = LayerNorm(dim, eps: eps)
        attn = SelfAttention(dim: dim, heads: heads, rng: &rng)
        if let contextDim {
            crossNorm = LayerNorm(dim, eps: eps)
            crossAttn = CrossAttention(dim: dim, contextDim: contextDim, heads: heads, rng: &rng)
        } else {
            crossNorm = nil
            crossAttn = nil
        }
        norm2 = LayerNorm(dim, eps: eps)
        mlp = MLP(dim: dim, hidden: hidden ?? Int((Float(dim) * mlpRatio).rounded()), activation: activation, rng: &rng)
        self.postNorm = postNorm
    }

    /// x (B, T, C) -> (B, T, C). `keyPadding` (B, T): 1 = token, 0 = padding. `context` (B, Tc, Cc) is
    /// required when the block has cross-attention.
    public func callAsFunction(_ x: Tensor, keyPadding: Tensor? = nil, causal: Bool = false,
                               context: Tensor? = nil, contextPadding: Tensor? = nil) throws -> Tensor {
        if crossAttn != nil && context == nil {
            throw TensorError.invalidArgument(op: "transformer_block", detail: "block has cross-attention but no context was given")
        }
        guard recomputesActivations, Autograd.isEnabled else {
            return try compute(x, keyPadding: keyPadding, causal: causal, context: context, contextPadding: contextPadding)
        }
        let inputs = context.map { [x, $0] } ?? [x]
        return try Autograd.recomputed("transformer_block", inputs: inputs, parameters: namedParameters.map(\.tensor)) { t in
            try self.compute(t[0], keyPadding: keyPadding, causal: causal, context: t.count > 1 ? t[1] : nil, contextPadding: contextPadding)
        }
    }

    private func compute(_ x: Tensor, keyPadding: Tensor?, causal: Bool, context: Tensor?, contextPadding: Tensor?) throws -> Tensor {
        if postNorm {
            var h = try norm1(x + attn(x, keyPadding: keyPadding, causal: causal))
            if let crossAttn, let crossNorm, let context {
                h = try crossNorm(h + crossAttn(h, context: context, contextPadding: contextPadding))
            }
            return try norm2(h + mlp(h))
        }
        var h = try x + attn(norm1(x), keyPadding: keyPadding, causal: causal)
        if let crossAttn, let crossNorm, let context {
            h = try h + crossAttn(crossNorm(h), context: context, contextPadding: contextPadding)
        }
        return try h + mlp(norm2(h))
    }
}

/// A stack of transformer blocks with a final LayerNorm (pre-norm), or without one (post-norm blocks end in
/// their own LayerNorm, as BERT's encoder does).
public final class Transformer: Module {
    public let blocks: [TransformerBlock]
    public let norm: LayerNorm?

    public init(dim: Int, depth: Int, heads: Int, mlpRatio: Float = 4, hidden: Int? = nil, activation: Activation = .gelu,
                contextDim: Int? = nil, eps: Float = 1e-5, postNorm: Bool = false, rng: inout RNG) {
        var blocks: [TransformerBlock] = []
        for _ in 0..<depth {
            blocks.append(TransformerBlock(dim: dim, heads: heads, mlpRatio: mlpRatio, hidden: hidden, activation: activation,
                                           contextDim: contextDim, eps: eps, postNorm: postNorm, rng: &rng))
        }
        self.blocks = blocks
        norm = postNorm ? nil : LayerNorm(dim, eps: eps)
    }

    public func callAsFunction(_ x: Tensor, keyPadding: Tensor? = nil, causal: Bool = false,
                               context: Tensor? = nil, contextPadding: Tensor? = nil) throws -> Tensor {
        var h = x
        for block in blocks {
            h = try block(h, keyPadding: keyPadding, causal: causal, context: context, contextPadding: contextPadding)
        }
        return try norm.map { try $0(h) } ?? h
    }
}
