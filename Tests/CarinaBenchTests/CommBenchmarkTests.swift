// The communication benchmark runs on in-process ranks and computes bandwidths as nccl-tests define them.
import Testing
import CarinaBench
import CarinaDist
import CarinaModels

@Suite struct CommBenchmarkTests {
    @Test func reportsBothCollectivesForEverySizeWithNcclBusFactors() throws {
        var bench = CommBenchmark()
        bench.sizes = [4096, 65536]
        bench.repeats = 1
        let configured = bench
        let rows = try LocalWorld.run(size: 4) { comm in try configured.run(comm) }
        #expect(rows[0].count == 4)
        for r in rows[0] {
            #expect(r.seconds > 0)
            let factor = r.collective == "all-reduce" ? 2 * 3.0 / 4 : 3.0 / 4
            #expect(abs(r.busBandwidth - r.algorithmBandwidth * factor) <= 1e-9 * r.algorithmBandwidth)
        }
        #expect(CommBenchmark.table(rows[0], ranks: 4).contains("64 KB"))
    }
}

@Suite struct DataParallelStepBenchmarkTests {
    @Test func measuresStepAndWaitOnTwoRanks() throws {
        var bench = DataParallelStepBenchmark(config: .test, localBatch: 2)
        bench.steps = 2
        let configured = bench
        let results = try LocalWorld.run(size: 2) { comm in try configured.run(comm) }
        #expect(results[0].stepSeconds == results[1].stepSeconds)  // both report the slowest rank
        #expect(results[0].stepSeconds > 0 && results[0].waitShare >= 0 && results[0].waitShare <= 1)
        #expect(DataParallelStepBenchmark.describe(results[0]).contains("2 rank(s) x local batch 2"))
        #expect(results[0].computeSeconds > 0 && results[0].gradientBytes > 0 && results[0].buckets >= 1)
    }

    @Test func comparesBucketSizesAndOverlapBesideTheAllReduceBandwidth() throws {
        let rows = try LocalWorld.run(size: 2) { comm -> [DataParallelStepBenchmark.Result] in
            var bench = DataParallelStepBenchmark(config: .test, localBatch: 2)
            bench.steps = 1
            let setup = DataParallelStepBenchmark.Setup(config: .test, localBatch: 2, rank: comm.rank)
            var rows: [DataParallelStepBenchmark.Result] = []
            for (overlap, bytes) in [(true, 1 << 12), (false, 1 << 12), (true, 1 << 30)] {
                (bench.overlap, bench.bucketBytes) = (overlap, bytes)
                rows.append(try bench.run(comm, setup: setup))
            }
            return rows
        }[0]
        #expect(rows[0].buckets > 1 && rows[2].buckets == 1 && rows[1].overlap == false)
        #expect(rows.allSatisfy { $0.gradientBytes == rows[0].gradientBytes })
        let table = DataParallelStepBenchmark.table(rows, allReduceSeconds: 0.001)
        #expect(table.contains("overlapped with backward") && table.contains("after backward") && table.contains("busbw"), "\(table)")
    }
}
