// The in-process communicator: collective results on 1, 2 and 4 ranks, and failure behaviour.
import Foundation
import Testing
import CarinaDist

@Suite struct LocalCommunicatorTests {
    @Test(arguments: [1, 2, 4]) func collectivesMatchTheirDefinitions(_ n: Int) throws {
        let results = try LocalWorld.run(size: n) { comm -> [[Float]] in
            let r = Float(comm.rank)
            var sum: [Float] = [r, 10 * r, 1]
            try comm.allReduceSum(&sum)
            var maxed: [Int64] = [Int64(comm.rank), -Int64(comm.rank)]
            try maxed.withUnsafeMutableBufferPointer { try comm.allReduceMax($0) }
            let gathered = try comm.allGather([r, r + 0.5])
            var scattered = [Float](repeating: 0, count: 2)
            let send = (0..<(2 * n)).map { Float($0) + r }
            try send.withUnsafeBufferPointer { s in try scattered.withUnsafeMutableBufferPointer { try comm.reduceScatterSum(s, into: $0) } }
            var root: [Float] = comm.rank == n - 1 ? [7, 8] : [0, 0]
            try comm.broadcast(&root, root: n - 1)
            let variable = try comm.allGatherVariable([Float](repeating: r, count: comm.rank + 1))
            var pendingBuffer: [Float] = [1, r]
            try pendingBuffer.withUnsafeMutableBufferPointer { try comm.startAllReduceSum($0).wait() }
            try comm.barrier()
            return [sum, maxed.map(Float.init), gathered, scattered, root, variable.values, variable.counts.map(Float.init), pendingBuffer]
        }
        let ranks = (0..<n).map(Float.init)
        let total = ranks.reduce(0, +)
        for (rank, got) in results.enumerated() {
            #expect(got[0] == [total, 10 * total, Float(n)])
            #expect(got[1] == [Float(n - 1), 0])
            #expect(got[2] == ranks.flatMap { [$0, $0 + 0.5] })
            #expect(got[3] == (0..<2).map { i in Float(n) * Float(2 * rank + i) + total })
            #expect(got[4] == [7, 8])
            #expect(got[5] == ranks.flatMap { [Float](repeating: $0, count: Int($0) + 1) })
            #expect(got[6] == (1...n).map(Float.init))
            #expect(got[7] == [Float(n), total])
        }
    }

    @Test func aFailingRankStopsTheOthersWithItsName() throws {
        // What LocalWorld.run reports: the failing rank's own error, not the peerFailed it caused.
        do {
            _ = try LocalWorld.run(size: 3, timeout: 30) { comm -> Int in
                if comm.rank == 1 { throw DistError.bufferMismatch(call: "test", detail: "rank 1 gives up") }
                var x: [Float] = [1]
                try comm.allReduceSum(&x)
                return 0
            }
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("rank 1 gives up"), "\(error)")
        }
        // What each surviving rank sees: the peer's failure, named, and not a timeout. The world's 30 s
        // timeout (the ranks need milliseconds) is only the guard against a hang.
        let world = LocalWorld(size: 3, timeout: 30)
        let errors = onThreads(world.communicators()) { comm in
            if comm.rank == 1 {
                world.abort(rank: 1, detail: "rank 1 gives up")  // what LocalWorld.run does when a rank throws
                return
            }
            var x: [Float] = [1]
            try comm.allReduceSum(&x)
        }
        for rank in [0, 2] {
            #expect(errors[rank] as? DistError == .peerFailed(rank: 1, detail: "rank 1 gives up"),
                    "rank \(rank) ended with \(errors[rank].map { "\($0)" } ?? "no error")")
        }
    }

    @Test func aMissingRankTimesOutInsteadOfHanging() throws {
        let world = LocalWorld(size: 2, timeout: 0.2)
        let comm = world.communicators()[0]
        #expect(throws: DistError.timeout(call: "allReduceSum on rank 0", seconds: 0.2)) { var x: [Float] = [1]; try comm.allReduceSum(&x) }
    }

    @Test func mismatchedCountsAreReported() throws {
        #expect(throws: DistError.self) {
            _ = try LocalWorld.run(size: 2) { comm -> Int in
                var x = [Float](repeating: 1, count: comm.rank + 1)
                try comm.allReduceSum(&x)
                return 0
            }
        }
    }
}

@Suite struct CollectiveOrderTests {
    @Test func ranksInDifferentCollectivesAreAnErrorNotAHang() throws {
        do {
            _ = try LocalWorld.run(size: 2, timeout: 10) { comm -> Int in
                if comm.rank == 0 { _ = try comm.allGather([Float(1)]) } else { try comm.barrier() }
                return 0
            }
            Issue.record("mismatched collectives went unnoticed")
        } catch {
            #expect("\(error)".contains("allGather") && "\(error)".contains("barrier"), "\(error)")
        }
    }
}

/// Runs `body` for each communicator on its own thread (as LocalWorld.run does) and returns, in rank
/// order, the error each rank ended with (nil where it returned).
private func onThreads(_ comms: [LocalCommunicator], _ body: @escaping @Sendable (LocalCommunicator) throws -> Void) -> [(any Error)?] {
    final class Errors: @unchecked Sendable {
        let lock = NSLock()
        var byRank: [(any Error)?]
        init(_ n: Int) { byRank = Array(repeating: nil, count: n) }
    }
    let errors = Errors(comms.count)
    let group = DispatchGroup()
    for comm in comms {
        group.enter()
        Thread {
            do { try body(comm) } catch { errors.lock.withLock { errors.byRank[comm.rank] = error } }
            group.leave()
        }.start()
    }
    group.wait()
    return errors.lock.withLock { errors.byRank }
}
