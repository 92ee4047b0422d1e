// The distributed sampler: global batches depend on (seed, epoch) only, never on the world size.
import Testing
import CarinaDist

@Suite struct SamplerTests {
    @Test func worldSizeChangesWhoSeesASampleNeverWhichSamplesFormABatch() throws {
        var reference: [[Int]] = []
        for worldSize in [1, 2, 4] {
            var samplers = try (0..<worldSize).map { _ in try DistributedSampler(datasetSize: 50, globalBatch: 8, seed: 3) }
            var batches: [[Int]] = []
            for _ in 0..<13 {  // crosses the epoch boundary (6 batches per epoch)
                var union: [Int] = []
                for r in 0..<worldSize {
                    let step = try samplers[r].next(rank: r, worldSize: worldSize)
                    #expect(step.local.count == 8 / worldSize)
                    union += step.local
                }
                batches.append(union)
            }
            if reference.isEmpty { reference = batches } else { #expect(batches == reference) }
        }
        #expect(Set(reference[0] + reference[1]).count == 16)  // no repeats within an epoch
        #expect(reference[0] != reference[6])  // reshuffled in the next epoch
    }

    @Test func stateSavedOnFourRanksResumesOnTwo() throws {
        var four = try (0..<4).map { _ in try DistributedSampler(datasetSize: 40, globalBatch: 8, seed: 9) }
        for _ in 0..<7 { for r in 0..<4 { _ = try four[r].next(rank: r, worldSize: 4) } }
        let saved = four[0].state
        #expect(saved == SamplerState(epoch: 1, samplesConsumed: 16))
        var two = try (0..<2).map { _ in try DistributedSampler(datasetSize: 40, globalBatch: 8, seed: 9, state: saved) }
        let a = try two[0].next(rank: 0, worldSize: 2), b = try two[1].next(rank: 1, worldSize: 2)
        let continued = try four[0].next(rank: 0, worldSize: 4).global
        #expect(a.local + b.local == continued)
    }

    @Test func unevenSplitIsAnError() throws {
        var s = try DistributedSampler(datasetSize: 10, globalBatch: 6, seed: 1)
        #expect(throws: SamplerError.self) { try s.next(rank: 0, worldSize: 4) }
        #expect(throws: SamplerError.self) { try DistributedSampler(datasetSize: 3, globalBatch: 6, seed: 1) }
    }

    @Test func evaluationShardsCoverEverySampleExactlyOnce() {
        for (count, size) in [(10, 3), (2, 4), (0, 2), (64, 8)] {
            let ranges = (0..<size).map { EvaluationShard.range(count: count, rank: $0, size: size) }
            #expect(ranges.flatMap { Array($0) } == Array(0..<count))
        }
    }
}
