// The register-blocked per-head GEMM behind attention, against the arithmetic it promises (one fused
// multiply-add chain per element, in order) bit for bit, and against OpenBLAS to float tolerance, on every
// row tail (1–6 rows past the 6-row blocks), every column case (8-wide tail, 16-wide blocks, both), both
// layouts of A (as stored and transposed), overwrite and accumulate; the AVX2 and (where the CPU has it)
// the AVX-512 tiles alike, so the two give the same bits.
// Not for: speed (`carina bench ops`).
import Foundation
import Testing
import CarinaTensor
import CarinaTestSupport
import CarinaTiles

@Suite struct SmallGEMMTests {
    /// (m, n, k, A transposed, accumulate, alpha)
    static let cases: [(Int, Int, Int, Bool, Bool, Float)] = {
        var all: [(Int, Int, Int, Bool, Bool, Float)] = []
        for m in [1, 2, 3, 4, 5, 6, 7, 13, 65] {
            for n in [8, 16, 24, 72] {
                all.append((m, n, 65, m % 2 == 0, m % 3 == 0, m % 4 == 1 ? 0.125 : 1))
            }
        }
        all += [(65, 64, 65, true, true, 1), (65, 72, 64, false, false, 0.125), (6, 16, 1, false, true, 1), (3, 8, 0, false, false, 1)]
        return all
    }()

    /// The kernels this CPU runs (the AVX-512 tiles only where it has AVX-512).
    static let kernels = SmallGEMM.Kernel.allCases.filter { $0 == .avx2 || SmallGEMM.supportsAVX512 }

    @Test(arguments: kernels) func everyElementIsOneOrderedFusedMultiplyAddChainAndMatchesOpenBLAS(_ kernel: SmallGEMM.Kernel) {
        for (m, n, k, transposed, accumulate, alpha) in Self.cases {
            // Leading dimensions wider than the rows, as attention's strided views are.
            let lda = (transposed ? m : k) + 3, ldb = n + 5, ldc = n + 2
            let a = randomTensor([(transposed ? k : m) * lda + 1], stream: 1)
            let b = randomTensor([max(k, 1) * ldb], stream: 2)
            let start = randomTensor([m * ldc], stream: 3)
            let c = Tensor(shape: start.shape, values: start.scalars)
            SmallGEMM.multiply(m: m, n: n, k: k, alpha: alpha, a: a.pointer, aRow: transposed ? 1 : lda, aColumn: transposed ? lda : 1,
                               b: b.pointer, ldb: ldb, c: c.pointer, ldc: ldc, accumulate: accumulate, kernel: kernel)
            let blas = Tensor(shape: start.shape, values: start.scalars)
            BLAS.sgemm(transA: transposed, transB: false, m: m, n: n, k: k, alpha: alpha, a: a.pointer, lda: lda, b: b.pointer, ldb: ldb,
                       beta: accumulate ? 1 : 0, c: blas.pointer, ldc: ldc, threads: 1, engine: .openblas)
            var exactMismatches = 0
            var worst: Float = 0
            for i in 0..<m {
                for j in 0..<ldc {
                    let got = c.pointer[i * ldc + j]
                    guard j < n else {
                        #expect(got == start.pointer[i * ldc + j], "m=\(m) n=\(n): column \(j) past n was written")
                        continue
                    }
                    var chain: Float = 0
                    for p in 0..<k {
                        let x = transposed ? a.pointer[p * lda + i] : a.pointer[i * lda + p]
                        chain = chain.addingProduct(x, b.pointer[p * ldb + j])  // fused: one rounding
                    }
                    let expected = accumulate ? start.pointer[i * ldc + j] + alpha * chain : alpha * chain
                    if got != expected { exactMismatches += 1 }
                    worst = max(worst, abs(got - blas.pointer[i * ldc + j]))
                }
            }
            #expect(exactMismatches == 0, "\(kernel): m=\(m) n=\(n) k=\(k) transposed=\(transposed) accumulate=\(accumulate): \(exactMismatches) elements differ from the ordered chain")
            #expect(worst <= 1e-4, "m=\(m) n=\(n) k=\(k) transposed=\(transposed): \(worst) from OpenBLAS")
        }
    }

    /// Every element moved to its transposed place and the padding zeroed, for blocks with and without
    /// whole 8×8 tiles and with row and column edges (a 65×64 key block of a ViT-Tiny head among them), a last
    /// partial group of rows packed as a block (padding to a multiple of 8) or float by float (padding that
    /// ends short of the group: 13 rows padded to 14, 65 unpadded).
    @Test(arguments: [(5, 3, 4, 8), (8, 8, 8, 8), (17, 13, 21, 24), (65, 64, 576, 72), (16, 9, 9, 16), (9, 16, 16, 16),
                      (13, 16, 16, 14), (65, 64, 576, 65), (3, 24, 24, 16)])
    func packingTransposesAndZeroPads(rows: Int, columns: Int, ld: Int, padded: Int) {
        let source = Tensor(shape: [rows * ld], values: (0..<(rows * ld)).map(Float.init))
        let out = Tensor(shape: [columns * padded], values: [Float](repeating: .nan, count: columns * padded))
        SmallGEMM.packTransposed(source.pointer, rows: rows, columns: columns, ld: ld, into: out.pointer, paddedRows: padded)
        var wrong = 0
        for p in 0..<columns {
            for j in 0..<padded where out.pointer[p * padded + j] != (j < rows ? Float(j * ld + p) : 0) { wrong += 1 }
        }
        #expect(wrong == 0, "\(rows)x\(columns) (ld \(ld), padded to \(padded)): \(wrong) elements misplaced")
    }

    /// The prefetch cursor hands out each range's 64-byte lines once, at most `perTile` per `take()` and never
    /// a run across two ranges, empty ranges skipped, and `finish()` issues the rest.
    @Test func prefetchCursorTakesEachLineOnce() {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 64)
        defer { buffer.deallocate() }
        let base = UnsafeRawPointer(buffer)
        var cursor = LinePrefetch()
        #expect(cursor.linesLeft == 0)
        #expect(cursor.take().lines == 0)  // nothing started: nothing to take
        // 130 bytes (3 lines), an empty range, 64 bytes (1 line), 1 byte (1 line): 5 lines over 3 tiles, 2 each.
        cursor.start([(base, base + 130), (base + 512, base + 512), (base + 1024, base + 1088), (base + 2048, base + 2049)], tiles: 3)
        #expect(cursor.linesLeft == 5)
        let runs = (0..<5).map { _ in cursor.take() }
        #expect(runs.map { $0.first } == [base, base + 128, base + 1024, base + 2048, nil])
        #expect(runs.map { $0.lines } == [2, 1, 1, 1, 0])
        #expect(cursor.linesLeft == 0)
        cursor.start([(base, base + 4096)], tiles: 100)  // 64 lines: 1 per tile
        #expect(cursor.take().lines == 1)
        #expect(cursor.linesLeft == 63)
        cursor.finish()
        #expect(cursor.linesLeft == 0)
    }

    /// Tiles issuing prefetches over their loop (several lines per tile, more lines than steps of k, or one
    /// line per tile) compute the same bits as without: the prefetches only split the loop over k.
    @Test(arguments: kernels) func prefetchingTilesGiveTheSameBits(_ kernel: SmallGEMM.Kernel) {
        let lines = UnsafeMutableRawPointer.allocate(byteCount: 64 * 4096, alignment: 64)
        defer { lines.deallocate() }
        let cursor = UnsafeMutablePointer<LinePrefetch>.allocate(capacity: 1)
        cursor.initialize(to: LinePrefetch())
        defer { cursor.deinitialize(count: 1); cursor.deallocate() }
        for (m, n, k, transposed, accumulate, alpha) in Self.cases {
            let lda = (transposed ? m : k) + 3, ldb = n + 5, ldc = n + 2
            let a = randomTensor([(transposed ? k : m) * lda + 1], stream: 4)
            let b = randomTensor([max(k, 1) * ldb], stream: 5)
            let start = randomTensor([m * ldc], stream: 6)
            func product(tiles: Int?) -> [Float] {
                let c = Tensor(shape: start.shape, values: start.scalars)
                if let tiles { cursor.pointee.start([(UnsafeRawPointer(lines), UnsafeRawPointer(lines) + 64 * 4096)], tiles: tiles) }
                SmallGEMM.multiply(m: m, n: n, k: k, alpha: alpha, a: a.pointer, aRow: transposed ? 1 : lda, aColumn: transposed ? lda : 1,
                                   b: b.pointer, ldb: ldb, c: c.pointer, ldc: ldc, accumulate: accumulate, kernel: kernel,
                                   prefetch: tiles == nil ? nil : cursor)
                return c.scalars
            }
            let plain = product(tiles: nil)
            for tiles in [1, 7, 4096] {
                let differ = zip(product(tiles: tiles), plain).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differ == 0, "\(kernel): m=\(m) n=\(n) k=\(k), lines over \(tiles) tiles: \(differ) elements differ")
            }
        }
    }
}
