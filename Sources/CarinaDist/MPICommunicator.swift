// The Communicator collectives as thin MPI calls (blocking, and MPI_Iallreduce) on MPI_COMM_WORLD for now.
// Not for: starting MPI (MPIEnvironment) or threads acting as ranks in one process (LocalCommunicator).

import CMPI

/// A communicator over MPI. Errors are returned by MPI (MPI_ERRORS_RETURN) and thrown as `DistError`.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    /// The MPI handle (MPI_Comm is a pointer type in OpenMPI).
    let comm: MPI_Comm
    public let rank: Int
    public let size: Int

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
    }

    public func allReduceSum<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>) throws {
        guard !buffer.isEmpty else { return }
        let count = try mpiCount(buffer.count, "MPI_Allreduce")
        try checkMPI(MPI_Allreduce(carina_mpi_in_place(), buffer.baseAddress, count, datatype(T.self), carina_mpi_sum(), comm),
                     "MPI_Allreduce")
    }

    public func allReduceMax<T: CommunicatorScalar & Comparable>(_ buffer: UnsafeMutableBufferPointer<T>) throws {
        guard !buffer.isEmpty else { return }
        let count = try mpiCount(buffer.count, "MPI_Allreduce")
        try checkMPI(MPI_Allreduce(carina_mpi_in_place(), buffer.baseAddress, count, datatype(T.self), carina_mpi_max(), comm),
                     "MPI_Allreduce")
    }

    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingCollective {
        guard !buffer.isEmpty else { return MPIPendingCollective(call: "MPI_Iallreduce", request: carina_mpi_request_null()) }
        let count = try mpiCount(buffer.count, "MPI_Iallreduce")
        var request: MPI_Request? = carina_mpi_request_null()
        try checkMPI(MPI_Iallreduce(carina_mpi_in_place(), buffer.baseAddress, count, carina_mpi_float(), carina_mpi_sum(), comm,
                                    &request), "MPI_Iallreduce")
        return MPIPendingCollective(call: "MPI_Iallreduce", request: request)
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
        try checkMPI(MPI_Allgather(send.baseAddress, count, type, receive.baseAddress, count, type, comm), "MPI_Allgather")
    }

    public func reduceScatterSum<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>) throws {
        guard send.count == receive.count * size else {
            throw DistError.bufferMismatch(call: "MPI_Reduce_scatter_block",
                                           detail: "input holds \(send.count) elements, expected \(size) ranks × \(receive.count)")
        }
        guard !receive.isEmpty else { return }
        let count = try mpiCount(receive.count, "MPI_Reduce_scatter_block")
        _ = try mpiCount(send.count, "MPI_Reduce_scatter_block")
        try checkMPI(MPI_Reduce_scatter_block(send.baseAddress, receive.baseAddress, count, datatype(T.self), carina_mpi_sum(), comm),
                     "MPI_Reduce_scatter_block")
    }

    public func broadcast<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws {
        guard (0..<size).contains(root) else { throw DistError.invalidRoot(call: "MPI_Bcast", root: root, size: size) }
        guard !buffer.isEmpty else { return }
        let count = try mpiCount(buffer.count, "MPI_Bcast")
        try checkMPI(MPI_Bcast(buffer.baseAddress, count, datatype(T.self), Int32(root), comm), "MPI_Bcast")
    }

    public func barrier() throws {
        try checkMPI(MPI_Barrier(comm), "MPI_Barrier")
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
