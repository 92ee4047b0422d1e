// Intra-op parallelism: how many threads kernels may use, and a parallel-for over index ranges.
// OpenBLAS itself is kept at one thread; Carina splits GEMMs and loops across threads itself
// (two 1-thread GEMMs on halves beat one 2-thread GEMM on the ViT shapes, ../shared/NOTES-interop.md).
import Dispatch
import Foundation
import Synchronization
import COpenBLAS

public enum Parallel {
    private static let threadCount = Atomic<Int>(1)
    private static let blasConfigured = Atomic<Bool>(false)

    /// Number of threads kernels use. Set once at start-up (`carina` sets it from the config, the
    /// environment or the rank layout); one per rank under `mpirun` when ranks share cores.
    public static var threads: Int {
        get { threadCount.load(ordering: .relaxed) }
        set {
            threadCount.store(max(1, newValue), ordering: .relaxed)
            configureBLAS()
        }
    }

    /// Pins OpenBLAS to one thread: Carina partitions work itself.
    public static func configureBLAS() {
        if !blasConfigured.exchange(true, ordering: .relaxed) {
            openblas_set_num_threads(1)
        }
    }

    /// Runs `body` over `0..<n` split into at most `threads` contiguous chunks, each at least `grain`
    /// long. Runs inline when one chunk suffices. `body` receives the chunk's range.
    @inline(__always)
    public static func forRanges(_ n: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        let t = threads
        let chunks = min(t, max(1, n / max(grain, 1)))
        if chunks <= 1 {
            if n > 0 { body(0..<n) }
            return
        }
        let counter = UncheckedSendable(FLOPCounter.current)
        withoutActuallyEscaping(body) { body in
            let box = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = n * c / chunks
                let hi = n * (c + 1) / chunks
                // Workers count their GEMMs into the caller's FLOP counter, if it has one (one of the
                // iterations runs on the caller's own thread: restore what it had).
                guard let counter = counter.value else {
                    if lo < hi { box.value(lo..<hi) }
                    return
                }
                let previous = FLOPCounter.swap(counter)
                if lo < hi { box.value(lo..<hi) }
                _ = FLOPCounter.swap(previous)
            }
        }
    }

    /// Runs `body(i)` for every i in `0..<n` on up to `threads` threads (for coarse tasks: one image,
    /// one attention head). Inline when `threads` is 1.
    @inline(__always)
    public static func forEach(_ n: Int, _ body: (Int) -> Void) {
        forRanges(n, grain: 1) { r in for i in r { body(i) } }
    }
}

/// Carries a value into a `@Sendable` closure when the caller guarantees the accesses do not race
/// (each parallel chunk touches its own part of the buffers).
public struct UncheckedSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}
