// Register-blocked GEMM for attention's per-head products (65×65×64 for a ViT-Tiny head): a BLAS call
// on shapes this small spends a third of its time packing and on call overhead
// (`carina bench ops`, perf), where this kernel reads its operands in place: B's rows are loaded as
// vectors, A's elements broadcast, 6×16 outputs held in registers.
// Not for: large GEMMs (BLAS.swift partitions those over threads and OpenBLAS's kernels are faster).

import CarinaKernelsAVX512
import Foundation

/// C (m, n) = alpha · op(A) · B, or C += alpha · op(A) · B, with op(A)(i, p) = a[i·aRow + p·aColumn]
/// (a transposed operand is aRow = 1, aColumn = its leading dimension) and B row-major (k, n), leading
/// dimension ldb. n must be a multiple of 8 (attention pads its rows to that).
///
/// Every element is one fused multiply-add chain over p = 0..<k in order from zero, then scaled by alpha
/// (and added to C): the arithmetic of the naive loop with `fma`, so the result does not depend on
/// blocking, threads or the vector width, and equals OpenBLAS's AVX-512 (SkylakeX) SGEMM bit for bit on
/// these shapes (its Haswell kernels order the sum differently in some tiles).
///
/// Two implementations with identical results: AVX2 tiles (8 floats) here, and AVX-512 tiles (16 floats,
/// CarinaKernelsAVX512) where the CPU and the kernel support AVX-512; `CARINA_KERNELS=avx2` forces the
/// former.
public enum SmallGEMM {
    public enum Kernel: String, Sendable, CaseIterable {
        case avx2, avx512
    }

    /// The kernel `multiply` uses by default: AVX-512 when /proc/cpuinfo lists avx512f, cd, bw, dq and vl
    /// (the set skylake-avx512 code may use; the kernel lists them only when it saves the registers) and
    /// `CARINA_KERNELS` is not `avx2`.
    public static let kernel: Kernel = {
        if ProcessInfo.processInfo.environment["CARINA_KERNELS"] == "avx2" { return .avx2 }
        return supportsAVX512 ? .avx512 : .avx2
    }()

    /// Whether this CPU (and OS) runs the AVX-512 tiles.
    public static let supportsAVX512: Bool = {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
        let have = Set(flags.split(separator: " ").map(String.init))
        return ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(have.contains)
    }()

    public static func multiply(m: Int, n: Int, k: Int, alpha: Float = 1,
                                a: UnsafePointer<Float>, aRow: Int, aColumn: Int,
                                b: UnsafePointer<Float>, ldb: Int,
                                c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, kernel: Kernel = SmallGEMM.kernel) {
        precondition(n % 8 == 0, "SmallGEMM needs n (\(n)) to be a multiple of 8")
        if m == 0 || n == 0 { return }
        if kernel == .avx512 {
            precondition(supportsAVX512, "SmallGEMM: the AVX-512 kernel was asked for on a CPU without AVX-512")
            smallGEMMAVX512(m: m, n: n, k: k, alpha: alpha, a: a, aRow: aRow, aColumn: aColumn, b: b, ldb: ldb,
                            c: c, ldc: ldc, accumulate: accumulate)
            return
        }
        var i = 0
        while i + 6 <= m {
            rowBlock(Six.self, a + i * aRow, aRow, aColumn, b, ldb, n, k, c + i * ldc, ldc, alpha, accumulate)
            i += 6
        }
        let a = a + i * aRow, c = c + i * ldc
        switch m - i {
        case 5: rowBlock(Five.self, a, aRow, aColumn, b, ldb, n, k, c, ldc, alpha, accumulate)
        case 4: rowBlock(Four.self, a, aRow, aColumn, b, ldb, n, k, c, ldc, alpha, accumulate)
        case 3: rowBlock(Three.self, a, aRow, aColumn, b, ldb, n, k, c, ldc, alpha, accumulate)
        case 2: rowBlock(Two.self, a, aRow, aColumn, b, ldb, n, k, c, ldc, alpha, accumulate)
        case 1: rowBlock(One.self, a, aRow, aColumn, b, ldb, n, k, c, ldc, alpha, accumulate)
        default: break
        }
    }

    /// Writes the transpose of the (rows, columns) block at `source` (leading dimension ld) into
    /// `destination` as (columns, paddedRows), zero-filling rows..<paddedRows: Kᵀ for S = Q Kᵀ.
    public static func packTransposed(_ source: UnsafePointer<Float>, rows: Int, columns: Int, ld: Int,
                                      into destination: UnsafeMutablePointer<Float>, paddedRows: Int) {
        for p in 0..<columns {
            let out = destination + p * paddedRows
            for j in 0..<rows { out[j] = source[j * ld + p] }
            for j in rows..<paddedRows { out[j] = 0 }
        }
    }

    /// R.count (1...6) rows of C across all n columns, 16 then 8 at a time. The counts are types so that
    /// each combination is its own specialisation: the guards fold away and the accumulators live in
    /// registers (with an Int argument the compiler kept the row tails generic and 2.5x slower).
    static func rowBlock<R: Count>(_ rows: R.Type, _ a: UnsafePointer<Float>, _ aRow: Int, _ aColumn: Int,
                         _ b: UnsafePointer<Float>, _ ldb: Int, _ n: Int, _ k: Int,
                         _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ accumulate: Bool) {
        var j = 0
        while j + 16 <= n {
            tile(R.self, Two.self, a, aRow, aColumn, b + j, ldb, k, c + j, ldc, alpha, accumulate)
            j += 16
        }
        if j < n { tile(R.self, One.self, a, aRow, aColumn, b + j, ldb, k, c + j, ldc, alpha, accumulate) }
    }

    /// One (R.count × 8·V.count) tile of C: at most 6 rows, 1 or 2 vectors, k fused multiply-adds per element.
    @inline(__always)
    static func tile<R: Count, V: Count>(_: R.Type, _: V.Type, _ a: UnsafePointer<Float>, _ aRow: Int, _ aColumn: Int,
                     _ b: UnsafePointer<Float>, _ ldb: Int, _ k: Int,
                     _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ accumulate: Bool) {
        let rows = R.count, two = V.count > 1
        var c00 = F8(), c01 = F8(), c10 = F8(), c11 = F8(), c20 = F8(), c21 = F8()
        var c30 = F8(), c31 = F8(), c40 = F8(), c41 = F8(), c50 = F8(), c51 = F8()
        var pa = a, pb = b
        for _ in 0..<k {
            let b0 = load8(pb), b1 = two ? load8(pb + 8) : F8()
            var x = F8(repeating: pa[0])
            c00 = c00.addingProduct(x, b0); if two { c01 = c01.addingProduct(x, b1) }
            if rows > 1 { x = F8(repeating: pa[aRow]); c10 = c10.addingProduct(x, b0); if two { c11 = c11.addingProduct(x, b1) } }
            if rows > 2 { x = F8(repeating: pa[2 * aRow]); c20 = c20.addingProduct(x, b0); if two { c21 = c21.addingProduct(x, b1) } }
            if rows > 3 { x = F8(repeating: pa[3 * aRow]); c30 = c30.addingProduct(x, b0); if two { c31 = c31.addingProduct(x, b1) } }
            if rows > 4 { x = F8(repeating: pa[4 * aRow]); c40 = c40.addingProduct(x, b0); if two { c41 = c41.addingProduct(x, b1) } }
            if rows > 5 { x = F8(repeating: pa[5 * aRow]); c50 = c50.addingProduct(x, b0); if two { c51 = c51.addingProduct(x, b1) } }
            pa += aColumn
            pb += ldb
        }
        let scale = F8(repeating: alpha)
        @inline(__always) func put(_ v: F8, _ p: UnsafeMutablePointer<Float>) {
            store8(accumulate ? load8(p) + scale * v : scale * v, p)
        }
        put(c00, c); if two { put(c01, c + 8) }
        if rows > 1 { put(c10, c + ldc); if two { put(c11, c + ldc + 8) } }
        if rows > 2 { put(c20, c + 2 * ldc); if two { put(c21, c + 2 * ldc + 8) } }
        if rows > 3 { put(c30, c + 3 * ldc); if two { put(c31, c + 3 * ldc + 8) } }
        if rows > 4 { put(c40, c + 4 * ldc); if two { put(c41, c + 4 * ldc + 8) } }
        if rows > 5 { put(c50, c + 5 * ldc); if two { put(c51, c + 5 * ldc + 8) } }
    }
}

/// Compile-time counts for SmallGEMM's specialisations.
protocol Count { static var count: Int { get } }
enum One: Count { static var count: Int { 1 } }
enum Two: Count { static var count: Int { 2 } }
enum Three: Count { static var count: Int { 3 } }
enum Four: Count { static var count: Int { 4 } }
enum Five: Count { static var count: Int { 5 } }
enum Six: Count { static var count: Int { 6 } }
