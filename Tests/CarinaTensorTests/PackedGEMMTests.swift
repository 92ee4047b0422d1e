// Carina's blocked SGEMM (BLAS.sgemm's default engine) against the arithmetic it promises bit for bit
// (per element: one fused multiply-add chain per block of 256 products, blocks added in order) and against
// OpenBLAS to float tolerance, on every transpose case, row tails past the 6- and 12-row panels and past a
// block of rows, column widths that are and are not a multiple of 8 (and past a block of columns), depths across
// the block boundary, beta 0, 1 and other, wide leading dimensions; the AVX2 and (where the CPU has it)
// AVX-512 tiles alike, and 1 and 2 threads alike (the same bits).
// Not for: speed (`carina bench ops`).
import Foundation
import Testing
@testable import CarinaTensor
import CarinaTestSupport

@Suite struct PackedGEMMTests {
    /// (m, n, k)
    static let shapes: [(Int, Int, Int)] = [
        (1, 8, 1), (5, 3, 7), (7, 16, 40), (13, 24, 256), (6, 40, 257), (200, 33, 65), (11, 1048, 400), (300, 72, 300), (65, 64, 600),
        (3, 100, 513), (22, 16, 9), (9, 8, 3),
    ]

    static let kernels = SmallGEMM.Kernel.allCases.filter { $0 == .avx2 || SmallGEMM.supportsAVX512 }

    /// What the kernel promises for element (i, j).
    static func expected(_ aAt: (Int, Int) -> Float, _ bAt: (Int, Int) -> Float, i: Int, j: Int, k: Int,
                         alpha: Float, beta: Float, start: Float) -> Float {
        var c: Float = beta == 0 ? 0 : (beta == 1 ? start : start * beta)
        var p0 = 0
        while p0 < k {
            var s: Float = 0
            for p in p0..<min(p0 + 256, k) { s = s.addingProduct(aAt(i, p), bAt(p, j)) }
            c = (p0 == 0 && beta == 0) ? alpha * s : c + alpha * s
            p0 += 256
        }
        return c
    }

    @Test(arguments: kernels) func everyTransposeCaseGivesThePromisedBitsAndMatchesOpenBLAS(_ kernel: SmallGEMM.Kernel) {
        var case_ = 0
        for (m, n, k) in Self.shapes {
            for transA in [false, true] {
                for transB in [false, true] {
                    case_ += 1
                    let (alpha, beta): (Float, Float) = [(1, 0), (0.5, 1), (1, 0.25), (-2, 0)][case_ % 4]
                    let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 1, ldc = n + 2
                    let a = randomTensor([(transA ? k : m) * lda], stream: 1)
                    let b = randomTensor([(transB ? n : k) * ldb], stream: 2)
                    let start = randomTensor([m * ldc], stream: 3)
                    let aAt = { (i: Int, p: Int) in transA ? a.pointer[p * lda + i] : a.pointer[i * lda + p] }
                    let bAt = { (p: Int, j: Int) in transB ? b.pointer[j * ldb + p] : b.pointer[p * ldb + j] }
                    let results = [1, 2].map { threads in
                        let c = Tensor(shape: start.shape, values: start.scalars)
                        BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a.pointer, lda: lda, b: b.pointer,
                                   ldb: ldb, beta: beta, c: c.pointer, ldc: ldc, threads: threads, engine: .carina, kernel: kernel)
                        return c
                    }
                    let blas = Tensor(shape: start.shape, values: start.scalars)
                    BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a.pointer, lda: lda, b: b.pointer,
                               ldb: ldb, beta: beta, c: blas.pointer, ldc: ldc, threads: 1, engine: .openblas)
                    let label = "\(kernel) m=\(m) n=\(n) k=\(k) transA=\(transA) transB=\(transB) alpha=\(alpha) beta=\(beta)"
                    var mismatches = 0, untouched = 0, threadDifferences = 0
                    var worst: Float = 0
                    for i in 0..<m {
                        for j in 0..<ldc {
                            let got = results[0].pointer[i * ldc + j]
                            if got.bitPattern != results[1].pointer[i * ldc + j].bitPattern { threadDifferences += 1 }
                            guard j < n else {
                                if got != start.pointer[i * ldc + j] { untouched += 1 }
                                continue
                            }
                            let want = Self.expected(aAt, bAt, i: i, j: j, k: k, alpha: alpha, beta: beta, start: start.pointer[i * ldc + j])
                            if got.bitPattern != want.bitPattern { mismatches += 1 }
                            worst = max(worst, abs(got - blas.pointer[i * ldc + j]) / max(1, abs(want)))
                        }
                    }
                    #expect(mismatches == 0, "\(label): \(mismatches) elements differ from the promised arithmetic")
                    #expect(untouched == 0, "\(label): \(untouched) elements past n were written")
                    #expect(threadDifferences == 0, "\(label): 1 and 2 threads differ in \(threadDifferences) elements")
                    #expect(worst <= 2e-5 * Float(max(1, k)).squareRoot(), "\(label): \(worst) from OpenBLAS")
                }
            }
        }
    }

    @Test(.enabled(if: SmallGEMM.supportsAVX512, "this CPU has no AVX-512: only the AVX2 tiles run here"))
    func theTwoVectorWidthsGiveTheSameBits() throws {
        let (m, n, k) = (37, 200, 300)
        let a = randomTensor([m * k], stream: 4), b = randomTensor([n * k], stream: 5)
        let outs = SmallGEMM.Kernel.allCases.map { kernel in
            let c = Tensor.zeros([m, n])
            BLAS.sgemm(transA: false, transB: true, m: m, n: n, k: k, a: a.pointer, lda: k, b: b.pointer, ldb: k,
                       c: c.pointer, ldc: n, threads: 1, engine: .carina, kernel: kernel)
            return c.scalars.map(\.bitPattern)
        }
        #expect(outs[0] == outs[1])
    }

    /// The bias gradient's column sums (once SGEMV, whose order followed OPENBLAS_CORETYPE): each column summed
    /// in row order, then written (beta 0), added (beta 1) or added to beta times what was there (in blocks of 64
    /// columns and a tail; ThreadCountBitsTests runs them split over threads).
    @Test func columnSumsAddEachColumnInRowOrder() {
        for (rows, cols) in [(7, 45), (1, 8), (300, 64), (5, 3), (0, 9), (33, 200), (600, 256)] {
            let x = randomTensor([max(rows * cols, 1)], stream: 6)
            let start = randomTensor([cols], stream: 7)
            for beta: Float in [0, 1, 0.5] {
                let out = Tensor(shape: [cols], values: start.scalars)
                Kernels.columnSums(x.pointer, rows: rows, cols: cols, into: out.pointer, beta: beta)
                var differ = 0
                for j in 0..<cols {
                    var s: Float = 0
                    for r in 0..<rows { s += x.pointer[r * cols + j] }
                    let was = start.pointer[j]
                    let want = rows == 0 ? (beta == 0 ? 0 : was * beta) : (beta == 0 ? s : (beta == 1 ? was + s : was * beta + s))
                    if out.pointer[j].bitPattern != want.bitPattern { differ += 1 }
                }
                #expect(differ == 0, "rows=\(rows) cols=\(cols) beta=\(beta): \(differ) columns differ")
            }
        }
    }
}
