// A non-blocking MPI collective in flight (an MPI_Request), tested or waited for by the caller.
// Not for: starting collectives (MPICommunicator) or deciding when to wait (the gradient buckets).

import CMPI

/// An MPI request that completes once; after that `test` is true and `wait` returns at once.
final class MPIPendingCollective: PendingCollective {
    private let call: String
    /// MPI sets it to MPI_REQUEST_NULL when the operation completes.
    private var request: MPI_Request?

    init(call: String, request: MPI_Request?) {
        self.call = call
        self.request = request
    }

    /// Dropped unwaited, MPI could still be writing into a buffer its owner is about to free: wait here.
    deinit {
        if request != carina_mpi_request_null() { MPI_Wait(&request, carina_mpi_status_ignore()) }
    }

    func test() throws -> Bool {
        var done: Int32 = 0
        try checkMPI(MPI_Test(&request, &done, carina_mpi_status_ignore()), "MPI_Test (\(call))")
        return done != 0
    }

    func wait() throws {
        try checkMPI(MPI_Wait(&request, carina_mpi_status_ignore()), "MPI_Wait (\(call))")
    }
}
