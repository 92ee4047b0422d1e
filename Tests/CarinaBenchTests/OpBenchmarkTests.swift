// The op benchmark runs end to end on a tiny configuration and reports consistent figures (no speed is
// asserted: the machines are shared and noisy).
import Testing
import CarinaBench
import CarinaData
import CarinaDist
import CarinaNN

@Suite struct OpBenchmarkTests {
    @Test func quickRunReportsEveryRowForEachThreadCount() throws {
        let rows = try OpBenchmark.quick.run()
        // 16 rows per thread count (two peaks, six GEMMs on two engines, attention, a block), and one head's product on OpenBLAS and each SmallGEMM kernel this CPU runs
        let kernels = SmallGEMM.supportsAVX512 ? 2 : 1
        #expect(rows.count == 2 * 16 + 1 + kernels)
        #expect(rows.filter { $0.name.hasPrefix("head P V") }.map(\.threads) == [Int](repeating: 1, count: 1 + kernels))
        #expect(rows.allSatisfy { $0.seconds > 0 && $0.gflops > 0 && $0.fractionOfPeak > 0 })
        let table = OpBenchmark.table(rows)
        #expect(table.contains("transformer block fwd+bwd"))
        #expect(table.contains("sgemm peak"))
    }

    @Test func blockFLOPsCountProjectionsAndAttention() {
        var b = OpBenchmark()
        (b.batch, b.tokens, b.channels) = (2, 3, 4)
        // 2·M·C·12C with M = 6, C = 4, plus 4·B·T²·C
        #expect(b.blockForwardFLOPs == Double(2 * 6 * 4 * 48 + 4 * 2 * 9 * 4))
    }
}

@Suite struct TrainStepBenchmarkTests {
    @Test func countsTheStepsGEMMWork() throws {
        let comm = LocalWorld(size: 1).communicators()[0]
        let a = Tensor.ones([6, 4]), b = Tensor.ones([4, 5])
        var bench = TrainStepBenchmark()
        (bench.steps, bench.warmup) = (1, 0)
        let r = try bench.run(communicator: comm, globalBatch: 6) { _ = try a.matmul(b) }
        #expect(r.flopsPerStep == 2 * 6 * 5 * 4)
        #expect(r.peakGFLOPs > 0 && r.samplesPerSecond > 0)
        // The process's peak resident memory is reported (this test process holds far more than a megabyte).
        #expect(r.peakResidentBytes > 1_048_576 && TrainStepBenchmark.describe(r).contains("peak RSS MiB/rank"))
        // Batched matmuls fan out to worker threads; their GEMMs count too.
        let saved = Parallel.threads
        Parallel.threads = 2
        defer { Parallel.threads = saved }
        let batched = try FLOPCounter.count { try Tensor.ones([3, 6, 4]).matmul(Tensor.ones([3, 4, 5])) }
        #expect(batched.flops == 3 * 2 * 6 * 5 * 4)
    }

    @Test func profileChargesOpsToTheirCategoriesAndSectionsApart() throws {
        let comm = LocalWorld(size: 1).communicators()[0]
        var rng = RNG(seed: 1)
        let layer = Linear(16, 16, rng: &rng)
        let x = Tensor.normal([32, 16], rng: &rng)
        var bench = TrainStepBenchmark()
        (bench.steps, bench.warmup) = (2, 0)
        var batches = 0
        let r = try bench.run(communicator: comm, globalBatch: 32, profile: true, makeBatch: { batches += 1 }) {
            for p in layer.trainableParameters { p.tensor.grad = nil }
            try layer(x).gelu().layerNorm(weight: nil, bias: nil).sum().backward()
            OpProfile.section("optimizer") { for p in layer.trainableParameters { p.tensor.grad = nil } }
        }
        for key in ["forward linear", "backward linear", "forward layer_norm", "backward layer_norm", "optimizer"] {
            #expect(r.profile[key].map { $0 >= 0 } == true, "no \(key) in \(r.profile.keys.sorted())")
        }
        // What was tracked fits in the profiled steps (per step both), and the loader was timed.
        #expect(r.profile.values.reduce(0, +) <= r.profiledStepSeconds * 1.0001)
        #expect(batches == 3 && r.batchSeconds != nil)
        #expect(TrainStepBenchmark.category("backward linear") == "GEMM (linear, matmul, conv)")
        #expect(TrainStepBenchmark.category("forward attention") == "attention (fused)")
        #expect(TrainStepBenchmark.category("forward layer_norm") == "normalisation")
        #expect(TrainStepBenchmark.category("communication").hasPrefix("communication"))
        let table = TrainStepBenchmark.profileTable(r)
        for row in ["GEMM (linear, matmul, conv)", "normalisation", "optimizer", "other (untracked glue)", "assembling one local batch"] {
            #expect(table.contains(row), "\(table)")
        }
        // A recomputed block runs its forward and backward inside one backward closure: each op is charged
        // once, so what was tracked still fits in the step, and the recomputation shows as forward ops.
        let block = TransformerBlock(dim: 16, heads: 2, rng: &rng)
        block.recomputesActivations = true
        let tokens = Tensor.normal([2, 16, 16], rng: &rng)
        let recomputed = try bench.run(communicator: comm, globalBatch: 2, profile: true) {
            try block(tokens).sum().backward()
            for p in block.namedParameters { p.tensor.grad = nil }
        }
        #expect(recomputed.profile.values.reduce(0, +) <= recomputed.profiledStepSeconds * 1.0001, "\(recomputed.profile)")
        #expect(recomputed.profile["backward transformer_block"] != nil && recomputed.profile["backward linear"] != nil)
        // Off, nothing is gathered.
        OpProfile.start()
        let outside = OpProfile.stop()
        _ = try layer(x).sum()
        #expect(outside.isEmpty && OpProfile.snapshot.isEmpty)
    }
}

@Suite struct LoaderBenchmarkTests {
    @Test func reportsAPositiveRatePerThreadCount() throws {
        var bench = LoaderBenchmark()
        (bench.batches, bench.batchSize, bench.imageSize) = (1, 4, 32)
        let rows = try bench.run(SyntheticCXR(count: 8, seed: 1, imageSize: 32), name: "phantoms")
        #expect(rows.map(\.threads) == [1, 2] && rows.allSatisfy { $0.samplesPerSecond > 0 })
        #expect(LoaderBenchmark.table(rows).contains("phantoms"))
    }
}
