// The collectives data-parallel training needs, independent of how ranks talk (MPI or threads in one process).
// Not for: gradient bucketing or the sampler, which are built on top of this protocol.
import CarinaTensor

/// A group of `size` ranks that call the same collectives in the same order. Every call blocks until
/// this rank's part is done; a failure on any rank is thrown, never ignored. Any communicator can sum
/// SyncBatchNorm's statistics (`batchNorm.sync = communicator`).
public protocol Communicator: CrossReplicaSum {
    /// This process's (or thread's) index in 0..<size.
    var rank: Int { get }
    /// Number of ranks.
    var size: Int { get }

    /// Element-wise sum over all ranks, written back into `buffer` on every rank.
    func allReduceSum<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>) throws
    /// Concatenates every rank's `send` in rank order into `receive`, which holds size × send.count elements.
    func allGather<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>) throws
    /// Copies `root`'s buffer into every other rank's buffer (same count everywhere).
    func broadcast<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws
    /// Returns once every rank has called it.
    func barrier() throws

    /// Element-wise maximum over all ranks, in place.
    func allReduceMax<T: CommunicatorScalar & Comparable>(_ buffer: UnsafeMutableBufferPointer<T>) throws
    /// Sums `send` (size × receive.count elements, block r destined for rank r) over all ranks and
    /// leaves block `rank` of the sum in `receive`: the backward of an all-gather.
    func reduceScatterSum<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>) throws
    /// Starts an in-place sum over all ranks and returns at once; the buffer must stay untouched until
    /// the returned operation's `wait()` returns. Ranks must start and wait in the same order.
    func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingCollective
}

/// A collective started without waiting (gradient buckets reduced while backward runs).
public protocol PendingCollective: AnyObject {
    /// Drives progress without blocking; true once the operation is complete.
    func test() throws -> Bool
    /// Blocks until the operation is complete.
    func wait() throws
}

extension Communicator {
    /// Element-wise sum over all ranks of an array, in place.
    public func allReduceSum<T: CommunicatorScalar>(_ values: inout [T]) throws {
        try values.withUnsafeMutableBufferPointer { try allReduceSum($0) }
    }

    /// Every rank's `values` (same count on every rank), concatenated in rank order.
    public func allGather<T: CommunicatorScalar>(_ values: [T]) throws -> [T] {
        var gathered = [T](repeating: 0, count: values.count * size)
        try values.withUnsafeBufferPointer { send in
            try gathered.withUnsafeMutableBufferPointer { try allGather(send, into: $0) }
        }
        return gathered
    }

    /// `root`'s array copied into `values` on every rank (same count everywhere).
    public func broadcast<T: CommunicatorScalar>(_ values: inout [T], root: Int = 0) throws {
        try values.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
    }
}

extension Communicator {
    /// Every rank's `values`, whose counts may differ between ranks, concatenated in rank order, with
    /// each rank's count (evaluation gathers results without padding duplicates).
    public func allGatherVariable<T: CommunicatorScalar>(_ values: [T]) throws -> (values: [T], counts: [Int]) {
        let counts = try allGather([Int64(values.count)]).map { Int($0) }
        let longest = counts.max() ?? 0
        let padded = values + [T](repeating: 0, count: longest - values.count)
        let gathered = try allGather(padded)
        var out: [T] = []
        out.reserveCapacity(counts.reduce(0, +))
        for (r, c) in counts.enumerated() { out += gathered[(r * longest)..<(r * longest + c)] }
        return (out, counts)
    }
}

extension Communicator {
    /// The minimum over all ranks of one value.
    public func allReduceMin(_ value: Int64) throws -> Int64 {
        var negated = [-value]
        try negated.withUnsafeMutableBufferPointer { try allReduceMax($0) }
        return -negated[0]
    }
}
