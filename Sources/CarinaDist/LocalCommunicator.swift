// N ranks as N threads of one process over shared memory, with the same collective semantics as MPI, so
// tests exercise multi-rank code without mpirun. A rank that throws aborts the world: every other rank's
// pending or next collective throws `peerFailed` naming it, and a collective that waits too long throws
// `timeout`. Sums run in rank order, so every rank gets bit-identical results.
import Foundation

/// The shared state of one in-process world.
public final class LocalWorld: @unchecked Sendable {
    public let size: Int
    /// Seconds a rank waits for the others in one collective before giving up.
    public let timeout: Double

    private let condition = NSCondition()
    private var arrived = 0
    private var generation = 0
    private var failure: (rank: Int, detail: String)?
    /// Per-rank pointers (and counts) deposited for the collective in progress.
    fileprivate var slots: [UnsafeRawPointer?]
    fileprivate var counts: [Int]
    /// The collective each rank is in, to catch ranks calling different collectives (a hang under MPI).
    fileprivate var calls: [String]

    public init(size: Int, timeout: Double = 60) {
        precondition(size > 0, "a world needs at least one rank")
        self.size = size
        self.timeout = timeout
        slots = Array(repeating: nil, count: size)
        counts = Array(repeating: 0, count: size)
        calls = Array(repeating: "", count: size)
    }

    /// One communicator per rank.
    public func communicators() -> [LocalCommunicator] {
        (0..<size).map { LocalCommunicator(world: self, rank: $0) }
    }

    /// Runs `body` on `size` threads, one per rank, and returns each rank's result in rank order. If a
    /// rank throws, the world is aborted (the others stop at their next collective) and the first
    /// error, tagged with its rank, is rethrown.
    public static func run<T: Sendable>(size: Int, timeout: Double = 60,
                                        _ body: @escaping @Sendable (LocalCommunicator) throws -> T) throws -> [T] {
        let world = LocalWorld(size: size, timeout: timeout)
        let comms = world.communicators()
        let results = ResultBox<T>(size)
        let group = DispatchGroup()
        for comm in comms {
            let thread = Thread {
                do {
                    let value = try body(comm)
                    results.set(comm.rank, .success(value))
                } catch {
                    world.abort(rank: comm.rank, detail: String(describing: error))
                    results.set(comm.rank, .failure(error))
                }
                group.leave()
            }
            thread.stackSize = 8 << 20
            group.enter()
            thread.start()
        }
        group.wait()
        return try results.collect()
    }

    /// Marks `rank` as failed and wakes every waiting rank.
    public func abort(rank: Int, detail: String) {
        condition.lock()
        if failure == nil { failure = (rank, detail) }
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until all ranks arrive. `call` names the collective for errors.
    fileprivate func barrier(_ call: String, rank: Int) throws {
        condition.lock()
        defer { condition.unlock() }
        if let failure, failure.rank != rank { throw DistError.peerFailed(rank: failure.rank, detail: failure.detail) }
        let mine = generation
        arrived += 1
        if arrived == size {
            arrived = 0
            generation += 1
            condition.broadcast()
            return
        }
        let deadline = Date(timeIntervalSinceNow: timeout)
        while generation == mine {
            if let failure { throw DistError.peerFailed(rank: failure.rank, detail: failure.detail) }
            if !condition.wait(until: deadline) && generation == mine {
                throw DistError.timeout(call: "\(call) on rank \(rank)", seconds: timeout)
            }
        }
    }
}

/// Collects per-rank results across threads.
private final class ResultBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<T, any Error>?]

    init(_ size: Int) { results = Array(repeating: nil, count: size) }

    func set(_ rank: Int, _ result: Result<T, any Error>) {
        lock.lock()
        results[rank] = result
        lock.unlock()
    }

    func collect() throws -> [T] {
        lock.lock()
        defer { lock.unlock() }
        // The root cause first: a rank's own error, not the peerFailed errors it caused elsewhere.
        for case let .failure(error)? in results where !(error is DistError && "\(error)".hasPrefix("rank ")) {
            throw error
        }
        for case let .failure(error)? in results { throw error }
        return results.map { try! $0!.get() }
    }
}

public final class LocalCommunicator: Communicator, @unchecked Sendable {
    public let world: LocalWorld
    public let rank: Int
    public var size: Int { world.size }

    init(world: LocalWorld, rank: Int) {
        self.world = world
        self.rank = rank
    }

    /// Deposits this rank's pointer and count, waits for all, runs `body` (reading the others'), and
    /// waits again so nobody reuses a buffer another rank is still reading.
    private func exchange(_ call: String, _ pointer: UnsafeRawPointer?, count: Int, _ body: () throws -> Void) throws {
        world.slots[rank] = pointer
        world.counts[rank] = count
        world.calls[rank] = call
        try world.barrier(call, rank: rank)
        // Under MPI, ranks in different collectives hang; here it is an error naming both.
        if let other = (0..<size).first(where: { world.calls[$0] != call }) {
            let detail = "rank \(rank) called \(call) while rank \(other) called \(world.calls[other]); every rank must call the same collectives in the same order"
            try world.barrier(call, rank: rank)
            throw DistError.bufferMismatch(call: call, detail: detail)
        }
        try body()
        try world.barrier(call, rank: rank)
    }

    private func requireEqualCounts(_ call: String) throws {
        for r in 0..<size where world.counts[r] != world.counts[0] {
            throw DistError.bufferMismatch(call: call, detail: "rank \(r) passed \(world.counts[r]) elements, rank 0 \(world.counts[0])")
        }
    }

    private func reduce<T: CommunicatorScalar>(_ call: String, _ buffer: UnsafeMutableBufferPointer<T>, _ combine: (T, T) -> T) throws {
        let n = buffer.count
        var result = [T](repeating: 0, count: n)
        try exchange(call, UnsafeRawPointer(buffer.baseAddress), count: n) {
            try requireEqualCounts(call)
            guard n > 0 else { return }
            let inputs = (0..<size).map { world.slots[$0]!.assumingMemoryBound(to: T.self) }
            for i in 0..<n {
                var acc = inputs[0][i]
                for r in 1..<size { acc = combine(acc, inputs[r][i]) }
                result[i] = acc
            }
        }
        for i in 0..<n { buffer[i] = result[i] }
    }

    public func allReduceSum<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>) throws {
        try reduce("allReduceSum", buffer, +)
    }

    public func allReduceMax<T: CommunicatorScalar & Comparable>(_ buffer: UnsafeMutableBufferPointer<T>) throws {
        try reduce("allReduceMax", buffer) { Swift.max($0, $1) }
    }

    public func allGather<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>) throws {
        let n = send.count
        guard receive.count == n * size else {
            throw DistError.bufferMismatch(call: "allGather", detail: "receive holds \(receive.count) elements, needs \(size) × \(n)")
        }
        try exchange("allGather", UnsafeRawPointer(send.baseAddress), count: n) {
            try requireEqualCounts("allGather")
            guard n > 0 else { return }
            for r in 0..<size {
                (receive.baseAddress! + r * n).update(from: world.slots[r]!.assumingMemoryBound(to: T.self), count: n)
            }
        }
    }

    public func reduceScatterSum<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>) throws {
        let n = receive.count
        guard send.count == n * size else {
            throw DistError.bufferMismatch(call: "reduceScatter", detail: "send holds \(send.count) elements, needs \(size) × \(n)")
        }
        try exchange("reduceScatter", UnsafeRawPointer(send.baseAddress), count: send.count) {
            try requireEqualCounts("reduceScatter")
            guard n > 0 else { return }
            let inputs = (0..<size).map { world.slots[$0]!.assumingMemoryBound(to: T.self) + rank * n }
            for i in 0..<n {
                var acc = inputs[0][i]
                for r in 1..<size { acc += inputs[r][i] }
                receive[i] = acc
            }
        }
    }

    public func broadcast<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws {
        guard root >= 0 && root < size else { throw DistError.invalidRoot(call: "broadcast", root: root, size: size) }
        try exchange("broadcast", UnsafeRawPointer(buffer.baseAddress), count: buffer.count) {
            try requireEqualCounts("broadcast")
            if rank != root, buffer.count > 0 {
                buffer.baseAddress!.update(from: world.slots[root]!.assumingMemoryBound(to: T.self), count: buffer.count)
            }
        }
    }

    public func barrier() throws {
        try exchange("barrier", nil, count: 0) {}
    }

    /// In-process ranks have no progress engine: the sum runs when the operation is waited for (ranks
    /// wait in the same order, so the collectives still match up).
    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingCollective {
        DeferredCollective { try self.allReduceSum(buffer) }
    }
}

/// A collective that runs when waited for. `test()` never runs it: ranks may test different numbers
/// of times, and a collective run from a test on one rank only would leave the others out of step.
final class DeferredCollective: PendingCollective {
    private var body: (() throws -> Void)?

    init(_ body: @escaping () throws -> Void) { self.body = body }

    func test() throws -> Bool { body == nil }

    func wait() throws {
        if let body {
            self.body = nil
            try body()
        }
    }
}
