// Matrix products on BLAS.sgemm (Carina's GEMM, or OpenBLAS with CARINA_GEMM=openblas): matmul with every
// transpose case, batched matmul, and the fused linear layer y = x Wᵀ + b (PyTorch's weight layout, so
// exported weights load in torch unchanged).

extension Tensor {
    /// op(A) op(B) where op transposes the last two axes when asked. A is (..., M, K) [or (..., K, M)],
    /// B is (K, N) [or (N, K)] — shared by every batch entry — or (..., K, N) with A's batch axes.
    public func matmul(_ other: Tensor, transposeSelf tA: Bool = false, transposeOther tB: Bool = false) throws -> Tensor {
        let a = self, b = other
        guard a.rank >= 2 else { throw TensorError.wrongRank(op: "matmul", shape: a.shape, expected: "at least 2 axes") }
        guard b.rank >= 2 else { throw TensorError.wrongRank(op: "matmul", shape: b.shape, expected: "at least 2 axes") }
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let (m, k) = tA ? (ac, ar) : (ar, ac)
        let (kb, n) = tB ? (bc, br) : (br, bc)
        guard k == kb else {
            throw TensorError.shapeMismatch(op: "matmul", shapes: [a.shape, b.shape],
                                            detail: "inner dimensions differ (\(k) vs \(kb))\(tA ? ", first transposed" : "")\(tB ? ", second transposed" : "")")
        }
        let batchA = Array(a.shape.dropLast(2))
        let batchB = Array(b.shape.dropLast(2))
        guard batchB.isEmpty || batchB == batchA else {
            throw TensorError.shapeMismatch(op: "matmul", shapes: [a.shape, b.shape], detail: "batch axes differ")
        }
        let batch = batchA.reduce(1, *)
        let out = Tensor(uninitialized: batchA + [m, n])
        let lda = ac, ldb = bc
        let sharedB = batchB.isEmpty
        if sharedB && !tA {
            // Fold the batch into the rows: one large GEMM.
            BLAS.sgemm(transA: false, transB: tB, m: batch * m, n: n, k: k, a: a.pointer, lda: lda, b: b.pointer, ldb: ldb, c: out.pointer, ldc: n)
        } else {
            let strideB = sharedB ? 0 : br * bc
            Parallel.forEach(batch) { i in
                BLAS.sgemm(transA: tA, transB: tB, m: m, n: n, k: k, a: a.pointer + i * ar * ac, lda: lda,
                           b: b.pointer + i * strideB, ldb: ldb, c: out.pointer + i * m * n, ldc: n, threads: batch > 1 ? 1 : nil)
            }
        }
        return Autograd.record(out, "matmul", [a, b]) { g in
            let gp = g.pointer
            if a.requiresGrad {
                let (p, beta) = a.gradTarget()
                if sharedB && !tA {
                    // dA (batch*m, k) = dC op(B)ᵀ
                    BLAS.sgemm(transA: false, transB: !tB, m: batch * m, n: k, k: n, a: gp, lda: n, b: b.pointer, ldb: ldb, beta: beta, c: p, ldc: lda)
                } else {
                    let strideB = sharedB ? 0 : br * bc
                    Parallel.forEach(batch) { i in
                        let gi = gp + i * m * n, bi = b.pointer + i * strideB, ai = p + i * ar * ac
                        if !tA {  // dA (m, k) = dC op(B)ᵀ
                            BLAS.sgemm(transA: false, transB: !tB, m: m, n: k, k: n, a: gi, lda: n, b: bi, ldb: ldb, beta: beta, c: ai, ldc: lda, threads: batch > 1 ? 1 : nil)
                        } else {  // dA (k, m) = op(B) dCᵀ
                            BLAS.sgemm(transA: tB, transB: true, m: k, n: m, k: n, a: bi, lda: ldb, b: gi, ldb: n, beta: beta, c: ai, ldc: lda, threads: batch > 1 ? 1 : nil)
                        }
                    }
                }
            }
            if b.requiresGrad {
                let (p, beta) = b.gradTarget()
                if sharedB {
                    // Sum over the batch: treat A and dC as stacked rows when A is not transposed.
                    if !tA {
                        if !tB {  // dB (k, n) = Aᵀ dC
                            BLAS.sgemm(transA: true, transB: false, m: k, n: n, k: batch * m, a: a.pointer, lda: lda, b: gp, ldb: n, beta: beta, c: p, ldc: ldb)
                        } else {  // dB (n, k) = dCᵀ A
                            BLAS.sgemm(transA: true, transB: false, m: n, n: k, k: batch * m, a: gp, lda: n, b: a.pointer, ldb: lda, beta: beta, c: p, ldc: ldb)
                        }
                    } else {
                        for i in 0..<batch {
                            let ai = a.pointer + i * ar * ac, gi = gp + i * m * n
                            let bt: Float = (i == 0) ? beta : 1
                            if !tB {  // dB (k, n) = op(A)ᵀ dC = A dC  (A stored (k, m))
                                BLAS.sgemm(transA: false, transB: false, m: k, n: n, k: m, a: ai, lda: lda, b: gi, ldb: n, beta: bt, c: p, ldc: ldb)
                            } else {  // dB (n, k) = dCᵀ op(A) = dCᵀ Aᵀ
                                BLAS.sgemm(transA: true, transB: true, m: n, n: k, k: m, a: gi, lda: n, b: ai, ldb: lda, beta: bt, c: p, ldc: ldb)
                            }
                        }
                    }
                } else {
                    Parallel.forEach(batch) { i in
                        let ai = a.pointer + i * ar * ac, gi = gp + i * m * n, bi = p + i * br * bc
                        let t: Int? = batch > 1 ? 1 : nil
                        if !tB {  // dB (k, n) = op(A)ᵀ dC
                            BLAS.sgemm(transA: !tA, transB: false, m: k, n: n, k: m, a: ai, lda: lda, b: gi, ldb: n, beta: beta, c: bi, ldc: ldb, threads: t)
                        } else {  // dB (n, k) = dCᵀ op(A)
                            BLAS.sgemm(transA: true, transB: tA, m: n, n: k, k: m, a: gi, lda: n, b: ai, ldb: lda, beta: beta, c: bi, ldc: ldb, threads: t)
                        }
                    }
                }
            }
        }
    }

    /// y (..., Out) = x (..., In) Wᵀ + b, with W (Out, In) and b (Out). Fused: one GEMM, bias by
    /// initialising the output; backward is two GEMMs and a column sum (GEMV).
    public func linear(weight w: Tensor, bias b: Tensor?) throws -> Tensor {
        guard w.rank == 2 else { throw TensorError.wrongRank(op: "linear", shape: w.shape, expected: "a (out, in) weight") }
        guard rank >= 1, shape[rank - 1] == w.shape[1] else {
            throw TensorError.shapeMismatch(op: "linear", shapes: [shape, w.shape], detail: "input features \(shape.last ?? 0) vs weight in-features \(w.shape[1])")
        }
        let (outF, inF) = (w.shape[0], w.shape[1])
        if let b, b.shape != [outF] {
            throw TensorError.shapeMismatch(op: "linear", shapes: [w.shape, b.shape], detail: "bias must be (\(outF))")
        }
        let rows = count / Swift.max(inF, 1)
        let out = Tensor(uninitialized: Array(shape.dropLast()) + [outF])
        let x = self
        if let b {
            let bp = b.pointer, op = out.pointer
            Parallel.forRanges(rows, grain: Kernels.grain(valuesPerItem: outF)) { r in
                for i in r { (op + i * outF).update(from: bp, count: outF) }
            }
        }
        BLAS.sgemm(transA: false, transB: true, m: rows, n: outF, k: inF, a: x.pointer, lda: inF, b: w.pointer, ldb: inF,
                   beta: b == nil ? 0 : 1, c: out.pointer, ldc: outF)
        let inputs = b.map { [x, w, $0] } ?? [x, w]
        return Autograd.record(out, "linear", inputs) { g in
            let gp = g.pointer
            if x.requiresGrad {  // dX (rows, in) = dY W
                let (p, beta) = x.gradTarget()
                BLAS.sgemm(transA: false, transB: false, m: rows, n: inF, k: outF, a: gp, lda: outF, b: w.pointer, ldb: inF, beta: beta, c: p, ldc: inF)
            }
            if w.requiresGrad {  // dW (out, in) = dYᵀ X
                let (p, beta) = w.gradTarget()
                BLAS.sgemm(transA: true, transB: false, m: outF, n: inF, k: rows, a: gp, lda: outF, b: x.pointer, ldb: inF, beta: beta, c: p, ldc: inF)
            }
            if let b, b.requiresGrad {  // db = column sums of dY
                let (p, beta) = b.gradTarget()
                Kernels.columnSums(gp, rows: rows, cols: outF, into: p, beta: beta)
            }
        }
    }
}

extension Kernels {
    /// out (cols) = beta * out + sum over rows of x (rows, cols), each column summed in row order from zero
    /// (the same bits on every CPU, for any OpenBLAS and any thread count; this was SGEMV, whose order of
    /// summation follows OPENBLAS_CORETYPE). 64 columns at a time are summed in registers over all rows (x read
    /// once; adding row after row into a row of sums also read and wrote the sums), the blocks of columns spread
    /// over the threads: 4160×768 (clip-tiny's fc1) in 3.2 ms on one thread and 2.7 on two, from 3.3 (memory-bound).
    static func columnSums(_ x: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>, beta: Float) {
        @inline(__always) func put(_ sum: Float, _ j: Int) {
            out[j] = beta == 0 ? sum : (beta == 1 ? out[j] + sum : out[j] * beta + sum)
        }
        let blocks = (cols + 63) / 64
        Parallel.forRanges(blocks, grain: Kernels.grain(valuesPerItem: 64 * rows)) { range in
            for block in range {
                let j0 = block * 64
                guard j0 + 64 <= cols else {
                    for j in j0..<cols {
                        var sum: Float = 0
                        for r in 0..<rows { sum += x[r * cols + j] }
                        put(sum, j)
                    }
                    continue
                }
                var a0 = F8(), a1 = F8(), a2 = F8(), a3 = F8(), a4 = F8(), a5 = F8(), a6 = F8(), a7 = F8()
                var p = x + j0
                for _ in 0..<rows {
                    a0 += load8(p); a1 += load8(p + 8); a2 += load8(p + 16); a3 += load8(p + 24)
                    a4 += load8(p + 32); a5 += load8(p + 40); a6 += load8(p + 48); a7 += load8(p + 56)
                    p += cols
                }
                for lane in 0..<8 {
                    put(a0[lane], j0 + lane); put(a1[lane], j0 + 8 + lane); put(a2[lane], j0 + 16 + lane); put(a3[lane], j0 + 24 + lane)
                    put(a4[lane], j0 + 32 + lane); put(a5[lane], j0 + 40 + lane); put(a6[lane], j0 + 48 + lane); put(a7[lane], j0 + 56 + lane)
                }
            }
        }
    }
}
