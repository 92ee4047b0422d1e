// `carina selftest link` (the default of `carina selftest`): proves that MPI, zstd and libpng link and work
// on this machine, on every rank. Not for: testing Carina's own logic, which the test targets do.

import ArgumentParser
import CarinaCheckpoint
import CarinaData
import CarinaDist

struct SelfTestLinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link",
        abstract: "Check that MPI collectives, zstd and PNG work; prints one line per rank."
    )

    @Option(help: ArgumentHelp("Make this rank fail after the all-reduce, to check that the whole job ends.", visibility: .hidden))
    var failOnRank: Int?

    func run() throws {
        let mpi = try MPIEnvironment.start()
        let line: String
        do {
            line = try checks(mpi.world)
        } catch {
            // Other ranks may be waiting in a collective for this one: end the whole job, not just this rank.
            if mpi.size > 1 { mpi.abort("selftest failed: \(error)") }
            throw error
        }
        print("selftest rank \(mpi.rank)/\(mpi.size): \(line)")
    }

    /// Runs every check and returns the summary, or throws `SelfTestFailure` naming the first that failed.
    private func checks(_ world: MPICommunicator) throws -> String {
        let (rank, size) = (world.rank, world.size)

        var sums = [Float](repeating: Float(rank + 1), count: 4096)
        try world.allReduceSum(&sums)
        let expectedSum = Float(size * (size + 1) / 2)
        guard sums.allSatisfy({ $0 == expectedSum }) else {
            throw SelfTestFailure("allreduce: expected every element \(expectedSum), got \(Set(sums).sorted())")
        }
        if rank == failOnRank { throw SelfTestFailure("rank \(rank) fails on purpose (--fail-on-rank) while the others wait") }

        let ranks = try world.allGather([Int32(rank)])
        guard ranks == (0..<Int32(size)).map({ $0 }) else {
            throw SelfTestFailure("allgather: expected ranks 0..<\(size), got \(ranks)")
        }

        var token: [Int64] = [rank == 0 ? 0x0C4A_714A : -1]
        try world.broadcast(&token, root: 0)
        guard token == [0x0C4A_714A] else { throw SelfTestFailure("broadcast: rank 0's value did not arrive, got \(token)") }

        var largest = [Int64(rank)]
        try largest.withUnsafeMutableBufferPointer { try world.allReduceMax($0) }
        guard largest == [Int64(size - 1)] else { throw SelfTestFailure("allreduce max: expected \(size - 1), got \(largest)") }

        // Block r of every rank's input holds r + 1: rank r receives size × (r + 1) in each of its 3 elements.
        let blocks = (0..<size).flatMap { [Float](repeating: Float($0 + 1), count: 3) }
        var mine = [Float](repeating: -1, count: 3)
        try blocks.withUnsafeBufferPointer { send in try mine.withUnsafeMutableBufferPointer { try world.reduceScatterSum(send, into: $0) } }
        guard mine == [Float](repeating: Float(size * (rank + 1)), count: 3) else {
            throw SelfTestFailure("reduce-scatter: expected \(size * (rank + 1)) three times, got \(mine)")
        }

        var pendingSums = [Float](repeating: Float(rank + 1), count: 4096)
        try pendingSums.withUnsafeMutableBufferPointer { buffer in
            let pending = try world.startAllReduceSum(buffer)
            try pending.wait()
            guard try pending.test() else { throw SelfTestFailure("non-blocking allreduce: not complete after wait") }
        }
        guard pendingSums.allSatisfy({ $0 == expectedSum }) else {
            throw SelfTestFailure("non-blocking allreduce: expected every element \(expectedSum), got \(Set(pendingSums).sorted())")
        }
        try world.barrier()

        let original = (0..<65_536).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13 ^ $0 >> 5) }
        let frame = try Zstd.compress(original, level: 3, context: "selftest buffer")
        guard try Zstd.decompress(frame, expectedSize: original.count, context: "selftest frame") == original else {
            throw SelfTestFailure("zstd: round trip changed the bytes")
        }

        let samples = (0..<(37 * 23)).map { UInt16(truncatingIfNeeded: $0 &* 1_021 &+ rank) }
        let image = try Image(width: 37, height: 23, channels: 1, pixels: .uint16(samples))
        guard try Image.decode(data: try image.encodePNG(), source: "selftest PNG") == image else {
            throw SelfTestFailure("png: 16-bit round trip changed the samples")
        }

        return "allreduce ok (\(expectedSum)), allgather ok, broadcast ok, reduce-scatter ok, non-blocking ok, zstd ok, png ok"
    }
}

/// A check that ran but gave the wrong answer.
struct SelfTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
