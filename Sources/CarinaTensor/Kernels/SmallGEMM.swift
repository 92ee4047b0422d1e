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

    /// `prefetch`: lines to bring into the caches a few in each register tile, spread over its loop (they change
    /// nothing computed).
    public static func multiply(m: Int, n: Int, k: Int, alpha: Float = 1,
                                a: UnsafePointer<Float>, aRow: Int, aColumn: Int,
                                b: UnsafePointer<Float>, ldb: Int,
                                c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, kernel: Kernel = SmallGEMM.kernel,
                                prefetch: UnsafeMutablePointer<LinePrefetch>? = nil) {
        precondition(n % 8 == 0, "SmallGEMM needs n (\(n)) to be a multiple of 8")
        if m == 0 || n == 0 { return }
        if kernel == .avx512 {
            precondition(supportsAVX512, "SmallGEMM: the AVX-512 kernel was asked for on a CPU without AVX-512")
            smallGEMMAVX512(m: m, n: n, k: k, alpha: alpha, a: a, aRow: aRow, aColumn: aColumn, b: b, ldb: ldb,
                            c: c, ldc: ldc, accumulate: accumulate, prefetch: prefetch)
            return
        }
        smallGEMMTiles(F8.self, F8.self, m: m, n: n, k: k, alpha: alpha, a: a, aRow: aRow, aColumn: aColumn,
                       b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate, prefetch: prefetch)
    }

    /// Writes the transpose of the (rows, columns) block at `source` (leading dimension ld) into
    /// `destination` as (columns, paddedRows), zero-filling rows..<paddedRows: Kᵀ for S = Q Kᵀ. Eight rows
    /// by eight columns at a time are loaded as vectors and transposed in registers (float by float, the
    /// packing took 7 % of attention's forward and backward; perf), a last partial group of rows with zero
    /// vectors for the padding it writes (float by float, a 65-row key block's last row and 7 padding rows
    /// cost as much as 16 of its 8×8 blocks); the edges left go float by float.
    public static func packTransposed(_ source: UnsafePointer<Float>, rows: Int, columns: Int, ld: Int,
                                      into destination: UnsafeMutablePointer<Float>, paddedRows: Int) {
        let fullColumns = columns / 8 * 8
        // Rows j..<j+8 of the whole 8-column blocks; rows past the end read as zero while the padding
        // reaches j+8.
        var j = 0
        while j < rows && j + 8 <= paddedRows {
            let valid = rows - j
            @inline(__always) func row(_ r: Int, _ p: Int) -> F8 { r < valid ? load8(source + (j + r) * ld + p) : F8() }
            var p = 0
            while p < fullColumns {
                let d = destination + p * paddedRows + j
                let t = transposed8x8(row(0, p), row(1, p), row(2, p), row(3, p), row(4, p), row(5, p), row(6, p), row(7, p))
                store8(t.0, d); store8(t.1, d + paddedRows); store8(t.2, d + 2 * paddedRows); store8(t.3, d + 3 * paddedRows)
                store8(t.4, d + 4 * paddedRows); store8(t.5, d + 5 * paddedRows); store8(t.6, d + 6 * paddedRows)
                store8(t.7, d + 7 * paddedRows)
                p += 8
            }
            j += 8
        }
        // Float by float: the rows and padding of the whole blocks the loop above did not reach, and all of
        // the columns past the last whole block.
        for p in 0..<columns {
            let out = destination + p * paddedRows
            let from = p < fullColumns ? j : 0
            if from < rows { for r in from..<rows { out[r] = source[r * ld + p] } }
            for r in Swift.max(from, rows)..<paddedRows { out[r] = 0 }
        }
    }

    /// The transpose of the 8×8 block whose rows are r0...r7 (its columns, as vectors): unpack pairs of
    /// rows, interleave pairs of pairs, then swap 128-bit halves (the shuffles AVX has).
    @inline(__always)
    static func transposed8x8(_ r0: F8, _ r1: F8, _ r2: F8, _ r3: F8, _ r4: F8, _ r5: F8, _ r6: F8, _ r7: F8)
        -> (F8, F8, F8, F8, F8, F8, F8, F8) {
        @inline(__always) func low(_ a: F8, _ b: F8) -> F8 { F8(a[0], b[0], a[1], b[1], a[4], b[4], a[5], b[5]) }
        @inline(__always) func high(_ a: F8, _ b: F8) -> F8 { F8(a[2], b[2], a[3], b[3], a[6], b[6], a[7], b[7]) }
        @inline(__always) func pairsLow(_ a: F8, _ b: F8) -> F8 { F8(a[0], a[1], b[0], b[1], a[4], a[5], b[4], b[5]) }
        @inline(__always) func pairsHigh(_ a: F8, _ b: F8) -> F8 { F8(a[2], a[3], b[2], b[3], a[6], a[7], b[6], b[7]) }
        @inline(__always) func halvesLow(_ a: F8, _ b: F8) -> F8 { F8(a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]) }
        @inline(__always) func halvesHigh(_ a: F8, _ b: F8) -> F8 { F8(a[4], a[5], a[6], a[7], b[4], b[5], b[6], b[7]) }
        let t0 = low(r0, r1), t1 = high(r0, r1), t2 = low(r2, r3), t3 = high(r2, r3)
        let t4 = low(r4, r5), t5 = high(r4, r5), t6 = low(r6, r7), t7 = high(r6, r7)
        let u0 = pairsLow(t0, t2), u1 = pairsHigh(t0, t2), u2 = pairsLow(t1, t3), u3 = pairsHigh(t1, t3)
        let u4 = pairsLow(t4, t6), u5 = pairsHigh(t4, t6), u6 = pairsLow(t5, t7), u7 = pairsHigh(t5, t7)
        return (halvesLow(u0, u4), halvesLow(u1, u5), halvesLow(u2, u6), halvesLow(u3, u7),
                halvesHigh(u0, u4), halvesHigh(u1, u5), halvesHigh(u2, u6), halvesHigh(u3, u7))
    }
}
