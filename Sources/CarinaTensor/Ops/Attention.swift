// Scaled dot-product attention, fused: for each (batch, head) S = scale·Q Kᵀ, masks, softmax, O = P V,
// with the per-head GEMMs (SmallGEMM: register-blocked; Kᵀ and Vᵀ packed once per head) reading Q, K, V
// in place (strided views of (B, T, C) or of a fused (B, T, 3C) projection) and heads spread over
// threads. Saves P for the backward pass. Optional dropout on the attention probabilities (M3AE's
// fusion): O = (P ⊙ M) V with M keyed by sample, so a sample's mask is
// the same on any rank and at any batch position.
//
// A thread brings each sample's operand rows into the caches before it multiplies them: read in place by
// the per-head products, the rows arrive as short strided runs the hardware prefetchers do not follow, and
// the products waited on memory (the same products ran at half their in-cache rate). The first sample of
// a thread's share is read in one sequential pass (`SampleStreams`); each later one is prefetched a few
// lines in each register tile of the previous sample's products (`LinePrefetch`), so that the wait
// overlaps arithmetic instead of preceding it. What a sample writes (O and P forward, the gradients
// backward) is prefetched the same way: its stores then find their lines in the caches.

import CarinaTiles
import Synchronization

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
        // P's rows (and the scratch score rows) are `ld` = Tk rounded up to 8 apart, the columns past Tk
        // zero, so the per-head GEMMs producing (Tq, Tk) blocks run on whole vectors.
        let ld = (tk + 7) / 8 * 8
        let out = Tensor(uninitialized: [b, tq, c])
        let probs = Tensor(uninitialized: [b, h, tq, ld])  // P, saved for backward
        let pp = probs.pointer, op = out.pointer
        let mask = keyPadding?.pointer
        let (qp, kp, vp) = (q.pointer, k.pointer, v.pointer)
        let distinct = uniqueTensors([q.tensor, k.tensor, v.tensor])
        // Each sample's rows of q, k and v (one run for a fused qkv: its rows hold all three).
        let inputs = SampleStreams(distinct.map { tensor in
            let operand = [q, k, v].first { $0.tensor === tensor }!
            return (UnsafePointer(tensor.pointer), (operand.tensor === q.tensor ? tq : tk) * operand.rowStride)
        })
        // Register tiles in one head's forward products (S, then O), to spread the next sample's prefetches over.
        let forwardTiles = (tq + 5) / 6 * ((ld + 15) / 16 + (d + 15) / 16)
        // What the forward reads, then what it writes (O, P).
        let forwardStreams = SampleStreams(inputs.streams + [(UnsafePointer(op), tq * c), (UnsafePointer(pp), h * tq * ld)])
        Parallel.forRanges(b * h, grain: 1) { tasks in
            let packed = Tensor(uninitialized: [d, ld])  // Kᵀ, zero-padded to ld columns
            let droppedBuffer: Tensor? = mp == nil ? nil : Tensor(uninitialized: [tq, ld])
            let ahead = UnsafeMutablePointer<LinePrefetch>.allocate(capacity: 1)
            ahead.initialize(to: LinePrefetch())
            defer {
                withExtendedLifetime((packed, droppedBuffer)) {}
                ahead.deinitialize(count: 1)
                ahead.deallocate()
            }
            for task in tasks {
                let bi = task / h, hi = task % h
                forwardStreams.bringIn(task: task, heads: h, of: tasks, tiles: forwardTiles, prefetch: ahead)
                let s = pp + task * tq * ld
                let qb = qp + bi * tq * q.rowStride + hi * d
                let kb = kp + bi * tk * k.rowStride + hi * d
                let vb = vp + bi * tk * v.rowStride + hi * d
                // S (tq, tk) = alpha Q Kᵀ
                SmallGEMM.packTransposed(kb, rows: tk, columns: d, ld: k.rowStride, into: packed.pointer, paddedRows: ld)
                headGEMM(m: tq, n: ld, k: d, validN: tk, alpha: alpha, a: qb, aRow: q.rowStride, aColumn: 1,
                         b: packed.pointer, ldb: ld, c: s, ldc: ld, accumulate: false, prefetch: ahead)
                if causal || mask != nil {
                    for i in 0..<tq {
                        let row = s + i * ld
                        for j in 0..<tk where (causal && j > i) || (mask.map { $0[bi * tk + j] == 0 } ?? false) {
                            row[j] = -.infinity
                        }
                    }
                }
                softmaxPaddedRows(s, rows: tq, n: tk, ld: ld)
                // O (tq, d) = P V (or (P ⊙ M) V), written into columns hi*d of out
                var used = UnsafePointer(s)
                if let mp, let droppedBuffer {
                    dropped(s, mask: mp + task * tq * tk, rows: tq, columns: tk, ld: ld, into: droppedBuffer.pointer)
                    used = UnsafePointer(droppedBuffer.pointer)
                }
                headGEMM(m: tq, n: d, k: tk, a: used, aRow: ld, aColumn: 1, b: vb, ldb: v.rowStride,
                         c: op + bi * tq * c + hi * d, ldc: c, accumulate: false, prefetch: ahead)
            }
        }
        return Autograd.record(out, "attention", distinct) { g in
            withExtendedLifetime(dropMask) {}
            let gp = g.pointer, pp = probs.pointer
            // Gradient targets (heads write disjoint columns). A tensor whose gradient buffer is new and whose
            // operands here cover each of its elements once (q, k, v apart, or the three column blocks of a
            // fused qkv) is overwritten: no zero-fill, no reading zeros back. One that already holds gradient,
            // or is passed as two operands over the same columns, is zero-filled if new and added to.
            let operands = [q, k, v]
            var targets: [(pointer: UnsafeMutablePointer<Float>, accumulate: Bool)?] = [nil, nil, nil]
            var targetStreams: [(UnsafePointer<Float>, Int)] = []
            for tensor in distinct where tensor.requiresGrad {
                let uses = operands.indices.filter { operands[$0].tensor === tensor }
                let blocks = Set(uses.map { operands[$0].column })
                let coversOnce = blocks.count == uses.count && uses.count * c == operands[uses[0]].rowStride
                var buffer: UnsafeMutablePointer<Float>, accumulate = true
                if coversOnce {
                    let (pointer, keep) = tensor.gradTarget()
                    (buffer, accumulate) = (pointer, keep != 0)
                } else {
                    buffer = tensor.gradZeroed()
                }
                for use in uses { targets[use] = (buffer + operands[use].column, accumulate) }
                targetStreams.append((UnsafePointer(buffer), (tensor === q.tensor ? tq : tk) * operands[uses[0]].rowStride))
            }
            let dq = targets[0], dk = targets[1], dv = targets[2]
            // The forward's inputs, the sample's output gradient and its heads' probabilities (contiguous), then
            // the gradients it writes.
            let backwardInputs = SampleStreams(inputs.streams + [(UnsafePointer(gp), tq * c), (UnsafePointer(pp), h * tq * ld)] + targetStreams)
            // Register tiles in one head's backward products (dV, dP, dQ, dK).
            let backwardTiles = ((tk + 5) / 6 * 2 + (tq + 5) / 6) * ((d + 15) / 16) + (tq + 5) / 6 * ((ld + 15) / 16)
            Parallel.forRanges(b * h, grain: 1) { tasks in
                let dpBuffer = Tensor(uninitialized: [tq, ld])
                let packed = Tensor(uninitialized: [d, ld])  // Vᵀ, zero-padded to ld columns
                let droppedBuffer: Tensor? = mp == nil ? nil : Tensor(uninitialized: [tq, ld])
                let ahead = UnsafeMutablePointer<LinePrefetch>.allocate(capacity: 1)
                ahead.initialize(to: LinePrefetch())
                defer {
                    withExtendedLifetime((dpBuffer, packed, droppedBuffer)) {}
                    ahead.deinitialize(count: 1)
                    ahead.deallocate()
                }
                let dpp = dpBuffer.pointer
                for task in tasks {
                    let bi = task / h, hi = task % h
                    backwardInputs.bringIn(task: task, heads: h, of: tasks, tiles: backwardTiles, prefetch: ahead)
                    let p = pp + task * tq * ld
                    let taskMask = mp.map { $0 + task * tq * tk }
                    // The probabilities V was weighted with: P, or P ⊙ M.
                    var used = UnsafePointer(p)
                    if let taskMask, let droppedBuffer {
                        dropped(p, mask: taskMask, rows: tq, columns: tk, ld: ld, into: droppedBuffer.pointer)
                        used = UnsafePointer(droppedBuffer.pointer)
                    }
                    let gb = gp + bi * tq * c + hi * d
                    let qb = qp + bi * tq * q.rowStride + hi * d
                    let kb = kp + bi * tk * k.rowStride + hi * d
                    let vb = vp + bi * tk * v.rowStride + hi * d
                    if let dv {  // dV (tk, d) (+)= Pᵀ dO (P ⊙ M with dropout)
                        headGEMM(m: tk, n: d, k: tq, a: used, aRow: 1, aColumn: ld, b: gb, ldb: c,
                                 c: dv.pointer + bi * tk * v.rowStride + hi * d, ldc: v.rowStride, accumulate: dv.accumulate, prefetch: ahead)
                    }
                    if dq == nil && dk == nil { continue }
                    // dP (tq, tk) = dO Vᵀ
                    SmallGEMM.packTransposed(vb, rows: tk, columns: d, ld: v.rowStride, into: packed.pointer, paddedRows: ld)
                    headGEMM(m: tq, n: ld, k: d, validN: tk, a: gb, aRow: c, aColumn: 1, b: packed.pointer, ldb: ld,
                             c: dpp, ldc: ld, accumulate: false, prefetch: ahead)
                    if let taskMask {  // through the dropout
                        for i in 0..<tq { for j in 0..<tk { dpp[i * ld + j] *= taskMask[i * tk + j] } }
                    }
                    // dS = alpha * P ⊙ (dP - rowsum(dP ⊙ P)); the padding columns stay zero (P and dP are).
                    for i in 0..<tq {
                        let pr = p + i * ld, dr = dpp + i * ld
                        let sv = F8(repeating: Kernels.dot(pr, dr, tk))
                        var j = 0
                        while j + 8 <= tk { store8(alpha * load8(pr + j) * (load8(dr + j) - sv), dr + j); j += 8 }
                        while j < tk { dr[j] = alpha * pr[j] * (dr[j] - sv[0]); j += 1 }
                    }
                    if let dq {  // dQ (tq, d) (+)= dS K
                        headGEMM(m: tq, n: d, k: tk, a: dpp, aRow: ld, aColumn: 1, b: kb, ldb: k.rowStride,
                                 c: dq.pointer + bi * tq * q.rowStride + hi * d, ldc: q.rowStride, accumulate: dq.accumulate, prefetch: ahead)
                    }
                    if let dk {  // dK (tk, d) (+)= dSᵀ Q
                        headGEMM(m: tk, n: d, k: tq, a: dpp, aRow: 1, aColumn: ld, b: qb, ldb: q.rowStride,
                                 c: dk.pointer + bi * tk * k.rowStride + hi * d, ldc: k.rowStride, accumulate: dk.accumulate, prefetch: ahead)
                    }
                }
            }
        }
    }
}

/// C (m, n) = alpha·op(A)·B or C += alpha·op(A)·B for one head: op(A)(i, p) = a[i·aRow + p·aColumn], either
/// aColumn = 1 (A as stored) or aRow = 1 (A transposed). SmallGEMM where n is a multiple of 8 (always for
/// the padded (Tq, Tk) blocks; for the (T, D) ones when D is); one-thread OpenBLAS for other head sizes.
/// `validN`: the columns that count as work (the rest are padding).
/// `prefetch`: lines issued a few in each of SmallGEMM's tiles.
@inline(__always)
private func headGEMM(m: Int, n: Int, k: Int, validN: Int? = nil, alpha: Float = 1, a: UnsafePointer<Float>, aRow: Int, aColumn: Int,
                      b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
                      prefetch: UnsafeMutablePointer<LinePrefetch>) {
    if n % 8 == 0 {
        FLOPCounter.current?.total.add(2 * m * (validN ?? n) * k, ordering: .relaxed)
        SmallGEMM.multiply(m: m, n: n, k: k, alpha: alpha, a: a, aRow: aRow, aColumn: aColumn, b: b, ldb: ldb,
                           c: c, ldc: ldc, accumulate: accumulate, prefetch: prefetch)
    } else {
        let transposed = aColumn != 1
        BLAS.sgemm(transA: transposed, transB: false, m: m, n: n, k: k, alpha: alpha, a: a, lda: transposed ? aColumn : aRow,
                   b: b, ldb: ldb, beta: accumulate ? 1 : 0, c: c, ldc: ldc, threads: 1)
    }
}

/// Softmax in place over the first `n` entries of each row (rows `ld` apart, ld >= n rounded up to 8, the
/// entries n..<ld zero and left zero): `Kernels.softmaxRows`' arithmetic in the same order, so the same bits,
/// with a row's last partial vector masked by a blend instead of moved float by float.
func softmaxPaddedRows(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, ld: Int) {
    let full = n / 8 * 8, tail = n - full
    // Lanes past the row's end: true.
    let past = F8(0, 1, 2, 3, 4, 5, 6, 7) .>= F8(repeating: Float(tail))
    for row in 0..<rows {
        let xr = x + row * ld
        var top = F8(repeating: -.infinity)
        var i = 0
        while i < full { top = SIMDMath.maximum(top, load8(xr + i)); i += 8 }
        if tail > 0 { top = SIMDMath.maximum(top, load8(xr + full).replacing(with: -.infinity, where: past)) }
        let m = SIMDMath.max(top)
        if m == -.infinity {
            xr.update(repeating: 0, count: n)
            continue
        }
        let mv = F8(repeating: m)
        var acc = F8()
        i = 0
        while i < full {
            let e = SIMDMath.expOfNonPositive(load8(xr + i) - mv)
            store8(e, xr + i)
            acc += e
            i += 8
        }
        if tail > 0 {
            // exp(-inf) = 0 past the end (the padding's zeros; NaN there too when m is NaN, hence the blend below).
            let e = SIMDMath.expOfNonPositive(load8(xr + full).replacing(with: -.infinity, where: past) - mv)
            store8(e, xr + full)
            acc += e
        }
        let inv = F8(repeating: 1 / SIMDMath.sum(acc))
        i = 0
        while i < full { store8(load8(xr + i) * inv, xr + i); i += 8 }
        if tail > 0 { store8((load8(xr + full) * inv).replacing(with: 0, where: past), xr + full) }
    }
}

/// P ⊙ M into `destination` (rows `ld` apart, like P), M's rows `columns` apart.
private func dropped(_ p: UnsafePointer<Float>, mask: UnsafePointer<Float>, rows: Int, columns: Int, ld: Int,
                     into destination: UnsafeMutablePointer<Float>) {
    for i in 0..<rows {
        for j in 0..<columns { destination[i * ld + j] = p[i * ld + j] * mask[i * columns + j] }
        for j in columns..<ld { destination[i * ld + j] = 0 }
    }
}

/// The tensors of a list without repeats (by identity), in first-seen order.
func uniqueTensors(_ tensors: [Tensor]) -> [Tensor] {
    var seen = Set<ObjectIdentifier>()
    return tensors.filter { seen.insert(ObjectIdentifier($0)).inserted }
}

/// Memory regions laid out by sample (sample b's part of stream i starts at base + b·floatsPerSample), each
/// brought into the caches ahead of a sample's per-head products: by one sequential pass that loads a vector
/// from every 64-byte line, or by prefetches. Only loads: what the products compute does not change.
struct SampleStreams {
    let streams: [(base: UnsafePointer<Float>, floatsPerSample: Int)]

    init(_ streams: [(UnsafePointer<Float>, Int)]) {
        self.streams = streams.map { (base: $0.0, floatsPerSample: $0.1) }
    }

    /// Before task `task` (sample task / heads, head task % heads) of a thread's share `tasks`: the first
    /// task reads its sample's rows; every task then starts prefetching its share of the next sample's
    /// (the next sample's lines split evenly over this sample's tasks in the share), spread over `tiles`
    /// tiles, after issuing what the previous task left.
    func bringIn(task: Int, heads h: Int, of tasks: Range<Int>, tiles: Int, prefetch: UnsafeMutablePointer<LinePrefetch>) {
        let b = task / h
        if task == tasks.lowerBound { read(sample: b) }
        prefetch.pointee.finish()
        guard (b + 1) * h < tasks.upperBound else { return }
        let first = Swift.max(b * h, tasks.lowerBound), parts = Swift.min(b * h + h, tasks.upperBound) - first
        prefetch.pointee.start(lines(sample: b + 1, part: task - first, of: parts), tiles: tiles)
    }

    /// Part `part` of `parts` of sample b's lines in every stream (each stream cut at 64-byte steps).
    func lines(sample b: Int, part: Int, of parts: Int) -> [(start: UnsafeRawPointer, end: UnsafeRawPointer)] {
        streams.map { stream in
            let bytes = stream.floatsPerSample * MemoryLayout<Float>.size
            let chunk = (bytes + parts * 64 - 1) / (parts * 64) * 64
            let base = UnsafeRawPointer(stream.base + b * stream.floatsPerSample)
            return (base + Swift.min(part * chunk, bytes), base + Swift.min((part + 1) * chunk, bytes))
        }
    }

    /// Brings sample `b`'s part of every stream into the caches.
    func read(sample b: Int) {
        var sum = F8()
        for stream in streams {
            let p = stream.base + b * stream.floatsPerSample
            let n = stream.floatsPerSample
            var a0 = F8(), a1 = F8(), a2 = F8(), a3 = F8()
            var i = 0
            while i + 64 <= n {
                a0 += load8(p + i); a1 += load8(p + i + 16); a2 += load8(p + i + 32); a3 += load8(p + i + 48)
                i += 64
            }
            sum += (a0 + a1) + (a2 + a3)
        }
        // Kept somewhere observable so the loads are not optimised away.
        streamSink.store(sum[0].bitPattern, ordering: .relaxed)
    }
}

private let streamSink = Atomic<UInt32>(0)
