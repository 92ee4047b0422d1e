// SmallGEMM's tiles in 16-float (AVX-512) vectors: this module alone is compiled for skylake-avx512, and
// CarinaTensor calls into it only after checking the CPU (SmallGEMM.swift); nothing else may call it.
// The tiles are CarinaTiles' (the AVX2 kernel's source), specialised here for 16 floats, so the two give
// identical bits. Not for: anything but these tiles (no CPU detection here: any code in this module may
// use AVX-512 instructions).
import CarinaTiles

/// C (m, n) = alpha · op(A) · B or C += alpha · op(A) · B; see SmallGEMM.multiply. n % 8 == 0.
public func smallGEMMAVX512(m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, aRow: Int, aColumn: Int,
                            b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
                            prefetch: UnsafeMutablePointer<LinePrefetch>? = nil) {
    smallGEMMTiles(SIMD16<Float>.self, SIMD8<Float>.self, m: m, n: n, k: k, alpha: alpha, a: a, aRow: aRow, aColumn: aColumn,
                   b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate, prefetch: prefetch)
}

/// Carina's blocked SGEMM in 16-float vectors; see CarinaTiles.packedGEMM and BLAS.sgemm. A transposed A is
/// packed and runs 12-row tiles (24 of the 32 registers accumulate); an A read in place runs 6-row tiles,
/// which were 10-13 % faster there than 12 rows streamed side by side (`bench ops`' shapes, one
/// interleaved run), while the packed 12-row tiles were about 10 % faster than 6-row ones on dW.
public func packedGEMMAVX512(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, scratch: UnsafeMutablePointer<Float>) {
    if transA {
        packedGEMM(SIMD16<Float>.self, SIMD8<Float>.self, Twelve.self, transA: true, transB: transB, m: m, n: n, k: k, alpha: alpha,
                   a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, scratch: scratch)
    } else {
        packedGEMM(SIMD16<Float>.self, SIMD8<Float>.self, Six.self, transA: false, transB: transB, m: m, n: n, k: k, alpha: alpha,
                   a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, scratch: scratch)
    }
}
