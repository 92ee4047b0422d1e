// Scaled dot-product attention, fused: for each (batch, head) S = scale·Q Kᵀ, masks, softmax, O = P V,
// with the per-head GEMMs reading Q, K, V in place (strided views of (B, T, C) or of a fused (B, T, 3C)
// projection) and heads spread over threads. Saves P for the backward pass. Optional dropout on the
// attention probabilities (M3AE's fusion): O = (P ⊙ M) V with M keyed by sample, so a sample's mask is
// the same on any rank and at any batch position.

/// Where one attention operand lives: element (b, t, c) is at tensor[(b*T + t)*rowStride + column + c].
struct AttentionOperand {
    let tensor: Tensor
    let column: Int
    let rowStride: Int
    var pointer: UnsafeMutablePointer<Float> { tensor.pointer + column }
}

/// Dropout on attention probabilities: each probability is zeroed with `probability` and the rest scaled
/// by 1/(1 − p); sample b's mask (heads × queries × keys, in that order) is drawn from `key.rng(row: b)`.
public struct AttentionDropout: Sendable, Equatable {
    public var probability: Float
    public var key: RandomKey

    public init(probability: Float, key: RandomKey) {
        self.probability = probability
        self.key = key
    }
}

extension Tensor {
    /// Multi-head attention over already projected q (B, Tq, C), k and v (B, Tk, C), C = heads·D.
    /// `keyPadding` (B, Tk): 1 = attend, 0 = padding. `causal`: query i sees keys j <= i.
    /// Queries that see no key at all output zeros. `dropout` (training only) drops probabilities.
    /// Returns (B, Tq, C).
    public static func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, keyPadding: Tensor? = nil,
                                 causal: Bool = false, scale: Float? = nil, dropout: AttentionDropout? = nil) throws -> Tensor {
        guard q.rank == 3 else { throw TensorError.wrongRank(op: "attention", shape: q.shape, expected: "q as (B, T, C)") }
        guard k.rank == 3 else { throw TensorError.wrongRank(op: "attention", shape: k.shape, expected: "k as (B, T, C)") }
        guard k.shape == v.shape else {
            throw TensorError.shapeMismatch(op: "attention", shapes: [k.shape, v.shape], detail: "keys and values must have equal shapes")
        }
        guard q.shape[0] == k.shape[0], q.shape[2] == k.shape[2] else {
            throw TensorError.shapeMismatch(op: "attention", shapes: [q.shape, k.shape], detail: "batch and channels of queries and keys must agree")
        }
        let c = q.shape[2]
        return try attentionCore(
            q: AttentionOperand(tensor: q, column: 0, rowStride: c), k: AttentionOperand(tensor: k, column: 0, rowStride: c),
            v: AttentionOperand(tensor: v, column: 0, rowStride: c), batch: q.shape[0], tq: q.shape[1], tk: k.shape[1],
            channels: c, heads: heads, keyPadding: keyPadding, causal: causal, scale: scale, dropout: dropout)
    }

    /// Self-attention reading q, k, v straight out of a fused projection qkv (B, T, 3C) (no copies).
    public static func selfAttention(qkv: Tensor, heads: Int, keyPadding: Tensor? = nil, causal: Bool = false,
                                     dropout: AttentionDropout? = nil) throws -> Tensor {
        guard qkv.rank == 3, qkv.shape[2] % 3 == 0 else {
            throw TensorError.wrongRank(op: "self_attention", shape: qkv.shape, expected: "(B, T, 3C)")
        }
        let c = qkv.shape[2] / 3
        return try attentionCore(
            q: AttentionOperand(tensor: qkv, column: 0, rowStride: 3 * c), k: AttentionOperand(tensor: qkv, column: c, rowStride: 3 * c),
            v: AttentionOperand(tensor: qkv, column: 2 * c, rowStride: 3 * c), batch: qkv.shape[0], tq: qkv.shape[1], tk: qkv.shape[1],
            channels: c, heads: heads, keyPadding: keyPadding, causal: causal, scale: nil, dropout: dropout)
    }

    static func attentionCore(q: AttentionOperand, k: AttentionOperand, v: AttentionOperand, batch b: Int, tq: Int, tk: Int,
                              channels c: Int, heads h: Int, keyPadding: Tensor?, causal: Bool, scale: Float?,
                              dropout: AttentionDropout?) throws -> Tensor {
        guard h > 0, c % h == 0 else {
            throw TensorError.invalidArgument(op: "attention", detail: "\(c) channels do not split into \(h) heads")
        }
        if let keyPadding, keyPadding.shape != [b, tk] {
            throw TensorError.shapeMismatch(op: "attention", shapes: [keyPadding.shape, [b, tk]], detail: "key padding mask must be (B, Tk)")
        }
        if let dropout, !(dropout.probability >= 0 && dropout.probability < 1) {
            throw TensorError.invalidArgument(op: "attention", detail: "dropout probability \(dropout.probability) must be in [0, 1)")
        }
        let d = c / h
        let alpha = scale ?? 1 / Float(d).squareRoot()
        // M (B, H, Tq, Tk): 0 or 1/(1 − p), drawn per sample.
        let keep = 1 - (dropout?.probability ?? 0)
        let dropMask: Tensor? = dropout.flatMap { dp in
            dp.probability == 0 ? nil : Tensor.rowDraws([b, h, tq, tk], key: dp.key) { g in g.uniform() < dp.probability ? 0 : 1 / keep }
        }
        let mp = dropMask?.pointer
        let out = Tensor(uninitialized: [b, tq, c])
        let probs = Tensor(uninitialized: [b, h, tq, tk])  // P, saved for backward
        let pp = probs.pointer, op = out.pointer
        let mask = keyPadding?.pointer
        let (qp, kp, vp) = (q.pointer, k.pointer, v.pointer)
        Parallel.forEach(b * h) { task in
            let bi = task / h, hi = task % h
            let s = pp + task * tq * tk
            let qb = qp + bi * tq * q.rowStride + hi * d
            let kb = kp + bi * tk * k.rowStride + hi * d
            let vb = vp + bi * tk * v.rowStride + hi * d
            // S (tq, tk) = alpha Q Kᵀ
            BLAS.sgemm(transA: false, transB: true, m: tq, n: tk, k: d, alpha: alpha, a: qb, lda: q.rowStride, b: kb, ldb: k.rowStride,
                       c: s, ldc: tk, threads: 1)
            if causal || mask != nil {
                for i in 0..<tq {
                    let row = s + i * tk
                    for j in 0..<tk where (causal && j > i) || (mask.map { $0[bi * tk + j] == 0 } ?? false) {
                        row[j] = -.infinity
                    }
                }
            }
            Kernels.softmaxRows(s, s, rows: tq, n: tk, log: false)
            // O (tq, d) = P V (or (P ⊙ M) V), written into columns hi*d of out
            var dropped: Tensor? = nil
            if let mp {
                let pm = Tensor(uninitialized: [tq, tk])
                for i in 0..<(tq * tk) { pm.pointer[i] = s[i] * mp[task * tq * tk + i] }
                dropped = pm
            }
            BLAS.sgemm(transA: false, transB: false, m: tq, n: d, k: tk, a: dropped?.pointer ?? s, lda: tk, b: vb, ldb: v.rowStride,
                       c: op + bi * tq * c + hi * d, ldc: c, threads: 1)
            withExtendedLifetime(dropped) {}
        }
        let distinct = uniqueTensors([q.tensor, k.tensor, v.tensor])
        return Autograd.record(out, "attention", distinct) { g in
            withExtendedLifetime(dropMask) {}
            let gp = g.pointer, pp = probs.pointer
            // Zero-filled (or existing) gradient buffers; heads write disjoint columns.
            func target(_ o: AttentionOperand) -> UnsafeMutablePointer<Float>? {
                o.tensor.requiresGrad ? o.tensor.gradZeroed() + o.column : nil
            }
            let dq = target(q), dk = target(k), dv = target(v)
            Parallel.forRanges(b * h, grain: 1) { tasks in
                let dpBuffer = Tensor(uninitialized: [tq, tk])
                let droppedBuffer: Tensor? = mp == nil ? nil : Tensor(uninitialized: [tq, tk])
                defer { withExtendedLifetime((dpBuffer, droppedBuffer)) {} }
                let dpp = dpBuffer.pointer
                for task in tasks {
                    let bi = task / h, hi = task % h
                    let p = pp + task * tq * tk
                    // The probabilities V was weighted with: P, or P ⊙ M.
                    var used = UnsafePointer(p)
                    if let mp, let droppedBuffer {
                        for i in 0..<(tq * tk) { droppedBuffer.pointer[i] = p[i] * mp[task * tq * tk + i] }
                        used = UnsafePointer(droppedBuffer.pointer)
                    }
                    let gb = gp + bi * tq * c + hi * d
                    let qb = qp + bi * tq * q.rowStride + hi * d
                    let kb = kp + bi * tk * k.rowStride + hi * d
                    let vb = vp + bi * tk * v.rowStride + hi * d
                    if let dv {  // dV (tk, d) += Pᵀ dO (P ⊙ M with dropout)
                        BLAS.sgemm(transA: true, transB: false, m: tk, n: d, k: tq, a: used, lda: tk, b: gb, ldb: c,
                                   beta: 1, c: dv + bi * tk * v.rowStride + hi * d, ldc: v.rowStride, threads: 1)
                    }
                    if dq == nil && dk == nil { continue }
                    // dP (tq, tk) = dO Vᵀ
                    BLAS.sgemm(transA: false, transB: true, m: tq, n: tk, k: d, a: gb, lda: c, b: vb, ldb: v.rowStride,
                               c: dpp, ldc: tk, threads: 1)
                    if let mp { for i in 0..<(tq * tk) { dpp[i] *= mp[task * tq * tk + i] } }  // through the dropout
                    // dS = alpha * P ⊙ (dP - rowsum(dP ⊙ P))
                    for i in 0..<tq {
                        let pr = p + i * tk, dr = dpp + i * tk
                        let sv = F8(repeating: Kernels.dot(pr, dr, tk))
                        var j = 0
                        while j + 8 <= tk { store8(alpha * load8(pr + j) * (load8(dr + j) - sv), dr + j); j += 8 }
                        while j < tk { dr[j] = alpha * pr[j] * (dr[j] - sv[0]); j += 1 }
                    }
                    if let dq {  // dQ (tq, d) += dS K
                        BLAS.sgemm(transA: false, transB: false, m: tq, n: d, k: tk, a: dpp, lda: tk, b: kb, ldb: k.rowStride,
                                   beta: 1, c: dq + bi * tq * q.rowStride + hi * d, ldc: q.rowStride, threads: 1)
                    }
                    if let dk {  // dK (tk, d) += dSᵀ Q
                        BLAS.sgemm(transA: true, transB: false, m: tk, n: d, k: tq, a: dpp, lda: tk, b: qb, ldb: q.rowStride,
                                   beta: 1, c: dk + bi * tk * k.rowStride + hi * d, ldc: k.rowStride, threads: 1)
                    }
                }
            }
        }
    }
}

/// The tensors of a list without repeats (by identity), in first-seen order.
func uniqueTensors(_ tensors: [Tensor]) -> [Tensor] {
    var seen = Set<ObjectIdentifier>()
    return tensors.filter { seen.insert(ObjectIdentifier($0)).inserted }
}
