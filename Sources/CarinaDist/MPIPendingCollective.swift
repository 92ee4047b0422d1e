// A non-blocking MPI collective in flight (an MPI_Request), tested or waited for (against the collective
// timeout, MPIWatchdog) by the caller.
// Not for: starting collectives (MPICommunicator) or deciding when to wait (the gradient buckets).

import CMPI

/// An MPI request that completes once; after that `test` is true and `wait` returns at once.
final class MPIPendingCollective: PendingCollective {
    private let call: String
    /// MPI sets it to MPI_REQUEST_NULL when the operation completes.
    private var request: MPI_Request?
    /// Its number among the collectives this rank started, and the watchdog that numbered it.
    private let number: Int64
    private let watchdog: MPIWatchdog

    init(call: String, request: MPI_Request?, number: Int64, watchdog: MPIWatchdog) {
        self.call = call
        self.request = request
        self.number = number
        self.watchdog = watchdog
    }

    /// Dropped unwaited, MPI could still be writing into a buffer its owner is about to free: wait here
    /// (against the timeout). After a timeout the request is abandoned instead: the job is being ended,
    /// and waiting would hang this rank for good.
    deinit {
        if request != carina_mpi_request_null() && watchdog.failure == nil {
            try? watchdog.complete(&request, number: number, call: call)
        }
    }

    func test() throws -> Bool {
        var done: Int32 = 0
        try checkMPI(MPI_Test(&request, &done, carina_mpi_status_ignore()), "MPI_Test (\(call))")
        return done != 0
    }

    func wait() throws {
        try watchdog.complete(&request, number: number, call: call)
    }
}
