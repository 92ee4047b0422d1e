// The error type of the distributed layer: which MPI call failed, on which rank, and MPI's own words.
// Not for: errors of the data or checkpoint layers, which have their own types.

public enum DistError: Error, CustomStringConvertible, Equatable {
    /// An MPI call returned something other than MPI_SUCCESS (communicators use MPI_ERRORS_RETURN).
    case mpi(call: String, code: Int32, message: String)
    /// A buffer longer than MPI's `int` element count can describe in one call.
    case countTooLarge(call: String, count: Int)
    /// A buffer whose length does not fit the collective, e.g. an all-gather output not size × input.
    case bufferMismatch(call: String, detail: String)
    /// A root rank outside 0..<size.
    case invalidRoot(call: String, root: Int, size: Int)
    /// Another rank failed; this one stops instead of waiting for it forever.
    case peerFailed(rank: Int, detail: String)
    /// A collective did not complete within the allowed time (a rank is gone or stuck); `detail` says
    /// what is known of the other ranks (MPIWatchdog's roll call), empty when nothing is.
    case timeout(call: String, seconds: Double, detail: String = "")
    /// Ranks that must agree do not (diverging parameters, different model structure).
    case replicaMismatch(String)

    public var description: String {
        switch self {
        case let .mpi(call, code, message):
            return "\(call) failed (MPI error \(code)): \(message)"
        case let .countTooLarge(call, count):
            return "\(call): \(count) elements exceed MPI's limit of \(Int32.max) per call; split the buffer"
        case let .bufferMismatch(call, detail):
            return "\(call): \(detail)"
        case let .invalidRoot(call, root, size):
            return "\(call): root rank \(root) is outside a world of \(size) ranks"
        case let .peerFailed(rank, detail):
            return "rank \(rank) failed: \(detail)"
        case let .timeout(call, seconds, detail):
            // `detail` comes from MPICommunicator's watchdog, whose limit a run sets with train.collectiveTimeout.
            return detail.isEmpty ? "\(call): no answer from every rank within \(seconds) s; a rank has died or hangs"
                : "\(call): no answer from every rank within \(seconds) s (the collective timeout, train.collectiveTimeout); \(detail)"
        case let .replicaMismatch(detail):
            return "ranks disagree: \(detail)"
        }
    }
}
