// Row-major SGEMM, partitioned across Carina's threads (each partition a 1-thread GEMM): on this machine
// two 1-thread GEMMs on halves reach ~88% of the 2-thread peak where one 2-thread OpenBLAS call reaches
// ~70% (../shared/NOTES-interop.md). Each partition runs Carina's blocked kernel (CarinaTiles.packedGEMM:
// AVX-512 tiles where the CPU has them, AVX2 otherwise, the same bits), or OpenBLAS with CARINA_GEMM=openblas
// (`BLAS.engine`).
// Not for: autograd (Ops/MatMul.swift).
import CarinaKernelsAVX512
import CarinaTiles
import COpenBLAS
import Foundation
import Synchronization

/// Counts the floating-point operations (2·m·n·k per sgemm) of the GEMMs one piece of code runs, on its
/// thread and the worker threads it fans out to, and no other thread's (benchmarks count a training
/// step's GEMM work this way instead of estimating it).
public final class FLOPCounter: @unchecked Sendable {
    let total = Atomic<Int>(0)
    public var flops: Int { total.load(ordering: .relaxed) }

    static let active = Atomic<Int>(0)
    static let key = "carina.flop-counter"

    /// The counter of the current thread, if counting is on anywhere.
    static var current: FLOPCounter? {
        guard active.load(ordering: .relaxed) > 0 else { return nil }
        return Thread.current.threadDictionary[key] as? FLOPCounter
    }

    /// Makes `counter` the current thread's and returns the one it replaces.
    static func swap(_ counter: FLOPCounter?) -> FLOPCounter? {
        let previous = Thread.current.threadDictionary[key] as? FLOPCounter
        Thread.current.threadDictionary[key] = counter
        return previous
    }

    /// Runs `body` and returns its result with the GEMM FLOPs it performed.
    public static func count<R>(_ body: () throws -> R) rethrows -> (result: R, flops: Int) {
        let counter = FLOPCounter()
        let previous = swap(counter)
        active.add(1, ordering: .relaxed)
        defer {
            active.subtract(1, ordering: .relaxed)
            _ = swap(previous)
        }
        let r = try body()
        return (r, counter.flops)
    }
}

public enum BLAS {
    /// Which code runs a GEMM's partitions.
    public enum Engine: String, Sendable, CaseIterable {
        /// Carina's blocked kernel: the same bits with its AVX-512 and AVX2 tiles and for any thread count.
        case carina
        /// OpenBLAS's `cblas_sgemm` (its kernels as OPENBLAS_CORETYPE or the CPU select).
        case openblas
    }

    /// The engine GEMMs use unless a call names one: `CARINA_GEMM` (`carina` or `openblas`) if set, else
    /// Carina's kernel on every CPU, so that a run's bits depend neither on the CPU (its AVX-512 and AVX2 tiles
    /// sum identically) nor on the kernels OPENBLAS_CORETYPE selects. On the ViT shapes its AVX-512 tiles ran
    /// at 1.2-1.6x OpenBLAS's pinned Haswell kernels (Intel), its AVX2 tiles at 0.85-1.04x them (AMD Zen 3);
    /// `carina bench ops`, `carina bench train --compare-gemm`. Settable so that a benchmark can alternate the
    /// two in one run.
    public static var engine: Engine {
        get { useOpenBLAS.load(ordering: .relaxed) ? .openblas : .carina }
        set { useOpenBLAS.store(newValue == .openblas, ordering: .relaxed) }
    }
    static let useOpenBLAS = Atomic<Bool>({
        switch ProcessInfo.processInfo.environment["CARINA_GEMM"] {
        case "openblas": return true
        case "carina", nil: return false
        case let other?:
            FileHandle.standardError.write(Data("carina: CARINA_GEMM=\(other) is neither carina nor openblas; ignored\n".utf8))
            return false
        }
    }())

    /// C (m, n) = alpha * op(A) op(B) + beta * C, row-major, op(X) = X or Xᵀ.
    /// A is (m, k) or, transposed, (k, m) with leading dimension lda; likewise B and C.
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int? = nil,
        engine: Engine = BLAS.engine, kernel: SmallGEMM.Kernel = SmallGEMM.kernel
    ) {
        if m == 0 || n == 0 { return }
        FLOPCounter.current?.total.add(2 * m * n * k, ordering: .relaxed)
        if k == 0 {
            for i in 0..<m {
                let row = c + i * ldc
                if beta == 0 { row.update(repeating: 0, count: n) } else { for j in 0..<n { row[j] *= beta } }
            }
            return
        }
        Parallel.configureBLAS()
        let t = threads ?? Parallel.threads
        let flops = 2.0 * Double(m) * Double(n) * Double(k)
        // Split only when each part still has enough work to amortise the fork-join: 0.3 MFLOP a part. Small-m
        // products (PsPG's decoders: 14 class rows against 256×768 weights) cost more than their FLOPs say,
        // packing the whole of B for a few rows; at 4 MFLOP they ran on one thread, and pspg-tiny's one-process
        // step took 281 ms against 261 split (six alternated `bench train` pairs; clip-tiny, coop-tiny and
        // prior-tiny unchanged within the noise). Any split gives the same bits.
        let parts = min(t, max(1, Int(flops / 3e5)))
        if parts <= 1 {
            call(engine, kernel, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        if m >= n {
            // Split rows of C: rows of op(A).
            Parallel.forRanges(m, grain: max(1, m / parts)) { r in
                let aOff = transA ? r.lowerBound : r.lowerBound * lda
                call(engine, kernel, transA, transB, r.count, n, k, alpha, a + aOff, lda, b, ldb, beta, c + r.lowerBound * ldc, ldc)
            }
        } else {
            // Split columns of C: columns of op(B).
            Parallel.forRanges(n, grain: max(1, n / parts)) { r in
                let bOff = transB ? r.lowerBound * ldb : r.lowerBound
                call(engine, kernel, transA, transB, m, r.count, k, alpha, a, lda, b + bOff, ldb, beta, c + r.lowerBound, ldc)
            }
        }
    }

    @inline(__always)
    static func call(_ engine: Engine, _ kernel: SmallGEMM.Kernel, _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                     _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                     _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        guard engine == .carina else {
            cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
            return
        }
        let scratch = Scratch.take()
        defer { Scratch.give(scratch) }
        if kernel == .avx512 {
            precondition(SmallGEMM.supportsAVX512, "BLAS: the AVX-512 kernel was asked for on a CPU without AVX-512")
            packedGEMMAVX512(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                             beta: beta, c: c, ldc: ldc, scratch: scratch)
        } else {
            packedGEMM(F8.self, F8.self, Six.self, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                       b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, scratch: scratch)
        }
    }

    /// Packing buffers for Carina's kernel, reused (a fresh 1.2 MB buffer per call would be mapped and
    /// faulted in anew each time); as many exist as GEMMs have run at once.
    enum Scratch {
        static let pool = Mutex<[UInt]>([])  // addresses

        static func take() -> UnsafeMutablePointer<Float> {
            if let address = pool.withLock({ $0.popLast() }) { return UnsafeMutablePointer(bitPattern: address)! }
            return UnsafeMutableRawPointer.allocate(byteCount: packedScratchCount * 4, alignment: 64)
                .bindMemory(to: Float.self, capacity: packedScratchCount)
        }

        static func give(_ buffer: UnsafeMutablePointer<Float>) {
            let address = UInt(bitPattern: buffer)
            pool.withLock { $0.append(address) }
        }
    }
}
