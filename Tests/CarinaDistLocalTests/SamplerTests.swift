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

    /// One image per study (PRIOR): every epoch visits each group once and takes one of its members, drawn
    /// anew each epoch, the same on any world size and after a resume; singleton groups sample as before.
    @Test func groupedSamplingTakesOneMemberOfEachGroupPerEpoch() throws {
        // 24 studies of 1 to 3 images over the positions 0..<48.
        var groups: [[Int]] = [], next = 0
        for g in 0..<24 { groups.append(Array(next..<(next + 1 + g % 3))); next += 1 + g % 3 }
        let owner = Dictionary(uniqueKeysWithValues: groups.enumerated().flatMap { g, members in members.map { ($0, g) } })
        var reference: [[Int]] = []
        for worldSize in [1, 2, 4] {
            var samplers = try (0..<worldSize).map { _ in try DistributedSampler(groups: groups, globalBatch: 8, seed: 5) }
            var epochs: [[Int]] = []
            for step in 0..<(3 * 20) {  // 3 batches per epoch, 20 epochs
                var union: [Int] = []
                for r in 0..<worldSize { union += try samplers[r].next(rank: r, worldSize: worldSize).local }
                if step % 3 == 0 { epochs.append([]) }
                epochs[epochs.count - 1] += union
            }
            if reference.isEmpty { reference = epochs } else { #expect(epochs == reference) }
        }
        for epoch in reference { #expect(epoch.map { owner[$0]! }.sorted() == Array(0..<24)) }
        // A three-image study shows each of its images over 20 epochs; a one-image study always its own.
        #expect(Set(reference.map { epoch in epoch.first { owner[$0] == 2 }! }) == Set(groups[2]))
        #expect(Set(reference.map { epoch in epoch.first { owner[$0] == 0 }! }) == [0])
        // Resumed from a saved state: the same draws.
        var first = try DistributedSampler(groups: groups, globalBatch: 8, seed: 5)
        for _ in 0..<7 { _ = try first.next(rank: 0, worldSize: 1) }
        var resumed = try DistributedSampler(groups: groups, globalBatch: 8, seed: 5, state: first.state)
        #expect(try resumed.next(rank: 0, worldSize: 1).global == first.next(rank: 0, worldSize: 1).global)
        // Every group a singleton: the ungrouped sampler's batches.
        var single = try DistributedSampler(groups: (0..<40).map { [$0] }, globalBatch: 8, seed: 9)
        var plain = try DistributedSampler(datasetSize: 40, globalBatch: 8, seed: 9)
        for _ in 0..<7 { #expect(try single.next(rank: 0, worldSize: 1).global == plain.next(rank: 0, worldSize: 1).global) }
        #expect(throws: SamplerError.self) { try DistributedSampler(groups: [[0], []] + (1..<9).map { [$0] }, globalBatch: 8, seed: 1) }
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
