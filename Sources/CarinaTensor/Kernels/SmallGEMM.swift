// Register-blocked GEMM for attention's per-head products (65×65×64 for a ViT-Tiny head): OpenBLAS's
// Haswell path spent about a fifth of attention's time packing these small operands (perf), and ran the
// product at 60 GFLOP/s where this runs 75 (AVX2) or 130 (AVX-512) (`carina bench ops`, one head's P V,
// on a 75 GFLOP/s SGEMM peak). This kernel reads its operands in place: B's rows are loaded as
// vectors, A's elements broadcast, 6 rows × 2 vectors of outputs held in registers (tiles: CarinaTiles).
// Not for: large GEMMs (BLAS.swift: partitioned over threads, each part packed and blocked for the caches
// by CarinaTiles.packedGEMM on these same tiles).

import CarinaKernelsAVX512
import CarinaTiles
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
/// Two specialisations of CarinaTiles with identical results: AVX2 (8 floats) here, and AVX-512 (16 floats,
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
        smallGEMMTiles(F8.self, F8.self, m: m, n: n, k: k, alpha: alpha, a: a, aRow: aRow, aColumn: aColumn,
                       b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
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
}
