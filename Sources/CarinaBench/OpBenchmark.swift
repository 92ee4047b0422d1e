// `carina bench ops`: the GEMM shapes of a ViT-Tiny block on Carina's GEMM and on OpenBLAS (and both
// engines' square peaks), one head's attention product on OpenBLAS and on SmallGEMM's tiles, attention and
// one whole block forward+backward, in GFLOP/s next to this machine's SGEMM peak (the default engine's)
// measured alternately with each row (its own column), for 1 and 2 threads.
import CarinaNN

public struct OpBenchmark {
    /// Block geometry: batch B, tokens T, channels C, heads H, MLP ratio 4 (ViT-Tiny at 128 px, patch 16:
    /// T = 1 + 64 = 65; B = 64 gives B·T = 4160 rows).
    public var batch = 64
    public var tokens = 65
    public var channels = 192
    public var heads = 3
    /// Square size for the peak measurement.
    public var peakSize = 1536
    public var repeats = 5
    public var threadCounts = [1, 2]

    public init() {}

    /// A reduced configuration that runs in well under a second (for smoke tests).
    public static var quick: OpBenchmark {
        var b = OpBenchmark()
        b.batch = 4
        b.tokens = 17
        b.channels = 32
        b.heads = 2
        b.peakSize = 256
        b.repeats = 1
        return b
    }

    public struct Row {
        public let name: String
        public let threads: Int
        public let seconds: Double
        public let flops: Double
        public let peak: Double
        public var gflops: Double { flops / seconds / 1e9 }
        public var fractionOfPeak: Double { gflops / peak }
    }

    /// Best SGEMM rate (GFLOP/s) on square matrices with `threads` threads (Carina's partitioning), on
    /// the engine training uses unless told.
    public func sgemmPeak(threads: Int, repeats: Int? = nil, engine: BLAS.Engine = BLAS.engine) -> Double {
        let n = peakSize
        let a = Tensor.full([n, n], 0.5), b = Tensor.full([n, n], 0.25), c = Tensor.zeros([n, n])
        let t = Timing.median(repeats: repeats ?? self.repeats) {
            BLAS.sgemm(transA: false, transB: false, m: n, n: n, k: n, a: a.pointer, lda: n, b: b.pointer, ldb: n,
                       c: c.pointer, ldc: n, threads: threads, engine: engine)
        }
        return 2 * Double(n * n * n) / t / 1e9
    }

    /// Median seconds of `body` and the SGEMM peak (GFLOP/s) measured alternately with it, so that a row's
    /// share of the peak compares two rates taken under the same load (on a shared machine the peak alone
    /// drifts 1.2–2x within minutes). Each timed run follows an untimed one, so the peak's matrices have
    /// left the caches as a previous run of the body would have them, not cold.
    func timedBesidePeak(threads: Int, _ body: () throws -> Void) rethrows -> (seconds: Double, peak: Double) {
        try timedBesidePeak(threads: threads, variants: 1) { _ in try body() }[0]
    }

    /// The same for several variants of one product (`body(v)`, v in 0..<variants: the GEMM engines), taken in
    /// turn within each repetition, so that their ratio compares times under the same load (timed one engine
    /// after the other, two runs a minute apart read per-shape ratios of 0.59-1.34 on this shared machine;
    /// alternated, 0.77-1.13, 2026-12-04).
    func timedBesidePeak(threads: Int, variants: Int, _ body: (Int) throws -> Void) rethrows -> [(seconds: Double, peak: Double)] {
        var seconds = [[Double]](repeating: [], count: variants), peaks = [[Double]](repeating: [], count: variants)
        for _ in 0..<max(repeats, 1) {
            for v in 0..<variants {
                peaks[v].append(sgemmPeak(threads: threads, repeats: 1))
                seconds[v].append(try Timing.median(warmup: 1, repeats: 1) { try body(v) })
            }
        }
        return (0..<variants).map { v in (seconds[v].sorted()[seconds[v].count / 2], peaks[v].sorted()[peaks[v].count / 2]) }
    }

    /// Runs every measurement; `log` receives progress lines.
    public func run(log: (String) -> Void = { _ in }) throws -> [Row] {
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        var rows: [Row] = []
        let (m, c) = (batch * tokens, channels)
        // (name, M, N, K, transA, transB): forward y = x Wᵀ, backward dX = dY W, dW = dYᵀ X.
        let gemms: [(String, Int, Int, Int, Bool, Bool)] = [
            ("fwd qkv      (M=\(m), K=\(c), N=\(3 * c))", m, 3 * c, c, false, true),
            ("fwd proj     (M=\(m), K=\(c), N=\(c))", m, c, c, false, true),
            ("fwd fc1      (M=\(m), K=\(c), N=\(4 * c))", m, 4 * c, c, false, true),
            ("fwd fc2      (M=\(m), K=\(4 * c), N=\(c))", m, c, 4 * c, false, true),
            ("bwd dX fc2   (M=\(m), K=\(c), N=\(4 * c))", m, 4 * c, c, false, false),
            ("bwd dW fc1   (M=\(4 * c), K=\(m), N=\(c))", 4 * c, c, m, true, false),
        ]
        for threads in threadCounts {
            Parallel.threads = threads
            for engine in BLAS.Engine.allCases {
                let peak = sgemmPeak(threads: threads, engine: engine)
                rows.append(Row(name: "sgemm peak (n=\(peakSize)) \(Self.label(engine))", threads: threads, seconds: 1, flops: peak * 1e9, peak: peak))
            }
            for (name, gm, gn, gk, tA, tB) in gemms {
                let a = Tensor.full(tA ? [gk, gm] : [gm, gk], 0.01), b = Tensor.full(tB ? [gn, gk] : [gk, gn], 0.02)
                let out = Tensor.zeros([gm, gn])
                let engines = BLAS.Engine.allCases
                let timed = timedBesidePeak(threads: threads, variants: engines.count) { v in
                    BLAS.sgemm(transA: tA, transB: tB, m: gm, n: gn, k: gk, a: a.pointer, lda: tA ? gm : gk,
                               b: b.pointer, ldb: tB ? gk : gn, c: out.pointer, ldc: gn, engine: engines[v])
                }
                for (engine, (t, alongside)) in zip(engines, timed) {
                    rows.append(Row(name: "\(name) \(Self.label(engine))", threads: threads, seconds: t, flops: 2 * Double(gm * gn * gk), peak: alongside))
                }
            }
            if threads == 1 { rows += headGEMMRows() }
            rows.append(try attentionRow(threads: threads))
            rows.append(try blockRow(threads: threads))
            log("bench ops: \(threads) thread(s) done")
        }
        return rows
    }

    /// "openblas", or "carina avx512" / "carina avx2" (the tiles it runs).
    static func label(_ engine: BLAS.Engine) -> String {
        engine == .openblas ? "openblas" : "carina \(SmallGEMM.kernel.rawValue)"
    }

    /// Matmul FLOPs of one block's forward pass: projections 2·M·C·(3C + C + 4C + 4C) plus attention
    /// scores and weighted sum 2 · 2·B·T²·C. A training step (forward + backward) counts three times this.
    public var blockForwardFLOPs: Double {
        let (m, c) = (Double(batch * tokens), Double(channels))
        return 2 * m * c * 12 * c + 4 * Double(batch) * Double(tokens * tokens) * c
    }

    /// One head's O = P V (Tq × D × Tk, P's rows padded to a multiple of 8) on one thread: OpenBLAS, then
    /// SmallGEMM's AVX2 tiles, then its AVX-512 tiles where the CPU has them. The attention row below uses
    /// `SmallGEMM.kernel`.
    func headGEMMRows() -> [Row] {
        let (m, n, k) = (tokens, channels / heads, tokens)
        let ld = (k + 7) / 8 * 8
        guard n % 8 == 0 else { return [] }
        let a = Tensor.full([m, ld], 0.01), b = Tensor.full([k, n], 0.02), out = Tensor.zeros([m, n])
        let calls = max(1, batch * heads)  // as many as one attention forward makes of this product
        let flops = 2 * Double(m * n * k * calls)
        let shape = "(\(m)x\(n)x\(k), x\(calls))"
        let (blas, blasPeak) = timedBesidePeak(threads: 1) {
            for _ in 0..<calls {
                BLAS.sgemm(transA: false, transB: false, m: m, n: n, k: k, a: a.pointer, lda: ld, b: b.pointer, ldb: n,
                           c: out.pointer, ldc: n, threads: 1, engine: .openblas)
            }
        }
        var rows = [Row(name: "head P V \(shape) openblas", threads: 1, seconds: blas, flops: flops, peak: blasPeak)]
        for kernel in SmallGEMM.Kernel.allCases where kernel == .avx2 || SmallGEMM.supportsAVX512 {
            let (t, alongside) = timedBesidePeak(threads: 1) {
                for _ in 0..<calls {
                    SmallGEMM.multiply(m: m, n: n, k: k, a: a.pointer, aRow: ld, aColumn: 1, b: b.pointer, ldb: n,
                                       c: out.pointer, ldc: n, accumulate: false, kernel: kernel)
                }
            }
            rows.append(Row(name: "head P V \(shape) \(kernel.rawValue)", threads: 1, seconds: t, flops: flops, peak: alongside))
        }
        return rows
    }

    func attentionRow(threads: Int) throws -> Row {
        var rng = RNG(seed: 1)
        let shape = [batch, tokens, 3 * channels]
        let qkv = Tensor.normal(shape, rng: &rng)
        qkv.requiresGrad = true
        let seed = Tensor.normal([batch, tokens, channels], rng: &rng)
        let (t, alongside) = try timedBesidePeak(threads: threads) {
            qkv.grad = nil
            try Tensor.selfAttention(qkv: qkv, heads: heads).backward(seed)
        }
        let flops = 3 * 4 * Double(batch) * Double(tokens * tokens) * Double(channels)
        return Row(name: "attention fwd+bwd (B=\(batch), T=\(tokens), H=\(heads), \(SmallGEMM.kernel.rawValue))", threads: threads, seconds: t, flops: flops, peak: alongside)
    }

    func blockRow(threads: Int) throws -> Row {
        var rng = RNG(seed: 2)
        let block = TransformerBlock(dim: channels, heads: heads, rng: &rng)
        let x = Tensor.normal([batch, tokens, channels], rng: &rng)
        x.requiresGrad = true
        let seed = Tensor.normal([batch, tokens, channels], rng: &rng)
        let (t, alongside) = try timedBesidePeak(threads: threads) {
            block.zeroGrad()
            x.grad = nil
            try block(x).backward(seed)
        }
        return Row(name: "transformer block fwd+bwd", threads: threads, seconds: t, flops: 3 * blockForwardFLOPs, peak: alongside)
    }

    /// The table `carina bench ops` prints.
    public static func table(_ rows: [Row]) -> String {
        var table = TextTable(["op", "threads", "ms", "GFLOP/s", "peak beside it", "% of peak"])
        for r in rows {
            let isPeak = r.name.hasPrefix("sgemm peak")
            table.add([r.name, "\(r.threads)", isPeak ? "-" : format(r.seconds * 1e3, 2), format(r.gflops), format(r.peak),
                       isPeak ? "100" : format(100 * r.fractionOfPeak, 0)])
        }
        return table.rendered
    }
}
