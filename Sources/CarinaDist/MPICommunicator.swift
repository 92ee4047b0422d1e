// The Communicator collectives as thin MPI calls on MPI_COMM_WORLD for now: each is a non-blocking MPI
// collective (MPI_Iallreduce, MPI_Ibarrier, ...) completed by MPIWatchdog against the collective timeout,
// so a rank that never arrives ends the job with a message instead of hanging it.
// Not for: starting MPI (MPIEnvironment) or threads acting as ranks in one process (LocalCommunicator).

import CMPI

/// A communicator over MPI. Errors are returned by MPI (MPI_ERRORS_RETURN) and thrown as `DistError`.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    /// The MPI handle (MPI_Comm is a pointer type in OpenMPI).
    let comm: MPI_Comm
    public let rank: Int
    public let size: Int
    let watchdog: MPIWatchdog

    /// Seconds any one collective may wait for the other ranks before this rank gives up with
    /// `DistError.timeout` naming the ranks that did not arrive (default 600; `train.collectiveTimeout`).
    /// Set it before the first collective; every rank should use the same value.
    public var collectiveTimeout: Double {
        get { watchdog.timeout }
        set { watchdog.timeout = newValue }
    }

    public static let defaultCollectiveTimeout: Double = 600

    /// Wraps an MPI communicator of an initialised MPI and makes its errors return codes.
    init(comm: MPI_Comm) throws {
        self.comm = comm
        try checkMPI(MPI_Comm_set_errhandler(comm, carina_mpi_errors_return()), "MPI_Comm_set_errhandler")
        var rank: Int32 = 0
        var size: Int32 = 0
        try checkMPI(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank")
        try checkMPI(MPI_Comm_size(comm, &size), "MPI_Comm_size")
        self.rank = Int(rank)
        self.size = Int(size)
        watchdog = try MPIWatchdog(comm: comm, rank: Int(rank), size: Int(size), timeout: MPICommunicator.defaultCollectiveTimeout)
    }

    /// Starts a non-blocking collective with `start` (which fills in the request) and waits for it
    /// against the collective timeout.
    private func collective(_ call: String, _ start: (inout MPI_Request?) -> Int32) throws {
        let number = try watchdog.begin()
        var request: MPI_Request? = carina_mpi_request_null()
        try checkMPI(start(&request), call)
        try watchdog.complete(&request, number: number, call: call)
    }

    public func allReduceSum<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>) throws {
        guard !buffer.isEmpty else { return }
        let count = try mpiCount(buffer.count, "MPI_Allreduce")
        let type = datatype(T.self)
        try collective("MPI_Iallreduce") { MPI_Iallreduce(carina_mpi_in_place(), buffer.baseAddress, count, type, carina_mpi_sum(), comm, &$0) }
    }

    public func allReduceMax<T: CommunicatorScalar & Comparable>(_ buffer: UnsafeMutableBufferPointer<T>) throws {
        guard !buffer.isEmpty else { return }
        let count = try mpiCount(buffer.count, "MPI_Allreduce")
        let type = datatype(T.self)
        try collective("MPI_Iallreduce") { MPI_Iallreduce(carina_mpi_in_place(), buffer.baseAddress, count, type, carina_mpi_max(), comm, &$0) }
    }

    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingCollective {
        guard !buffer.isEmpty else {
            return MPIPendingCollective(call: "MPI_Iallreduce", request: carina_mpi_request_null(), number: 0, watchdog: watchdog)
        }
        let count = try mpiCount(buffer.count, "MPI_Iallreduce")
        let number = try watchdog.begin()
        var request: MPI_Request? = carina_mpi_request_null()
        try checkMPI(MPI_Iallreduce(carina_mpi_in_place(), buffer.baseAddress, count, carina_mpi_float(), carina_mpi_sum(), comm,
                                    &request), "MPI_Iallreduce")
        return MPIPendingCollective(call: "MPI_Iallreduce", request: request, number: number, watchdog: watchdog)
    }

    public func allGather<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>) throws {
        guard receive.count == send.count * size else {
            throw DistError.bufferMismatch(call: "MPI_Allgather",
                                           detail: "output holds \(receive.count) elements, expected \(size) ranks × \(send.count)")
        }
        guard !send.isEmpty else { return }
        let count = try mpiCount(send.count, "MPI_Allgather")
        _ = try mpiCount(receive.count, "MPI_Allgather")
        let type = datatype(T.self)
        try collective("MPI_Iallgather") { MPI_Iallgather(send.baseAddress, count, type, receive.baseAddress, count, type, comm, &$0) }
    }

    public func reduceScatterSum<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>) throws {
        guard send.count == receive.count * size else {
            throw DistError.bufferMismatch(call: "MPI_Reduce_scatter_block",
                                           detail: "input holds \(send.count) elements, expected \(size) ranks × \(receive.count)")
        }
        guard !receive.isEmpty else { return }
        let count = try mpiCount(receive.count, "MPI_Reduce_scatter_block")
        _ = try mpiCount(send.count, "MPI_Reduce_scatter_block")
        let type = datatype(T.self)
        try collective("MPI_Ireduce_scatter_block") {
            MPI_Ireduce_scatter_block(send.baseAddress, receive.baseAddress, count, type, carina_mpi_sum(), comm, &$0)
        }
    }

    public func broadcast<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws {
        guard (0..<size).contains(root) else { throw DistError.invalidRoot(call: "MPI_Bcast", root: root, size: size) }
        guard !buffer.isEmpty else { return }
        let count = try mpiCount(buffer.count, "MPI_Bcast")
        let type = datatype(T.self)
        try collective("MPI_Ibcast") { MPI_Ibcast(buffer.baseAddress, count, type, Int32(root), comm, &$0) }
    }

    public func barrier() throws {
        try collective("MPI_Ibarrier") { MPI_Ibarrier(comm, &$0) }
    }

    /// MPI counts are `int`; larger buffers must be split by the caller.
    private func mpiCount(_ count: Int, _ call: String) throws -> Int32 {
        guard let c = Int32(exactly: count) else { throw DistError.countTooLarge(call: call, count: count) }
        return c
    }

    private func datatype<T: CommunicatorScalar>(_: T.Type) -> MPI_Datatype {
        switch T.scalarKind {
        case .float32: return carina_mpi_float()
        case .float64: return carina_mpi_double()
        case .int32: return carina_mpi_int32()
        case .int64: return carina_mpi_int64()
        case .uint8: return carina_mpi_uint8()
        }
    }
}
