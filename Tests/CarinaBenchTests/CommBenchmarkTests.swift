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
    }
}
