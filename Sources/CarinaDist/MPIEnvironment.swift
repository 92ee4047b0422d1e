// Starts MPI once per process (MPI_Init_thread), tells this process's rank and the world size, and
// finalises MPI at exit. Not for: the collectives themselves (MPICommunicator) or choosing a transport.

import CMPI
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's MPI session. A binary started without `mpirun` is a world of one rank.
///
/// MPI is initialised with `MPI_THREAD_SERIALIZED`: any thread may call MPI, one at a time (a
/// gradient-sync thread may own the communicator while the main thread computes).
public final class MPIEnvironment: @unchecked Sendable {
    /// This process's rank in MPI_COMM_WORLD.
    public let rank: Int
    /// Number of processes in MPI_COMM_WORLD.
    public let size: Int
    /// The thread support level MPI granted (MPI_THREAD_* constant).
    public let threadLevel: Int32
    /// MPI_COMM_WORLD, with errors returned instead of aborting.
    public let world: MPICommunicator

    /// The one environment of this process, created by the first call. Later calls return the same
    /// environment, or throw the same error when initialisation failed.
    public static func start() throws -> MPIEnvironment {
        try started.get()
    }

    private static let started: Result<MPIEnvironment, any Error> = Result { try MPIEnvironment() }

    private init() throws {
        var alreadyInitialized: Int32 = 0
        try checkMPI(MPI_Initialized(&alreadyInitialized), "MPI_Initialized")
        var provided: Int32 = 0
        if alreadyInitialized == 0 {
            MPIEnvironment.chooseNonBlockingAllReduce()
            let requested = Int32(MPI_THREAD_SERIALIZED)
            try checkMPI(MPI_Init_thread(nil, nil, requested, &provided), "MPI_Init_thread")
            if provided < requested {
                throw DistError.mpi(call: "MPI_Init_thread", code: MPI_ERR_OTHER,
                                    message: "asked for MPI_THREAD_SERIALIZED (\(requested)), this MPI grants only level \(provided)")
            }
            // Finalise on normal exit. A failing rank calls `abort` instead: finalising while other
            // ranks wait in a collective would hang them.
            atexit {
                var finalized: Int32 = 0
                MPI_Finalized(&finalized)
                if finalized == 0 { MPI_Finalize() }
            }
        } else {
            try checkMPI(MPI_Query_thread(&provided), "MPI_Query_thread")
        }
        threadLevel = provided
        world = try MPICommunicator(comm: carina_mpi_comm_world())
        rank = world.rank
        size = world.size
    }

    /// Every all-reduce here is non-blocking (MPICommunicator polls it against the collective timeout), so
    /// it runs OpenMPI's libnbc algorithms, not the tuned blocking ones. Below 4 ranks libnbc uses a binomial
    /// tree at any size: on 2 ranks of one node that made 1-64 MB all-reduces 2-5x slower than blocking
    /// MPI_Allreduce, while its ring matched it (`carina bench comm`, 2026-12). So with 2 or 3 ranks
    /// (mpirun's OMPI_COMM_WORLD_SIZE) the ring is chosen, unless the user set the parameter; from 4 ranks
    /// OpenMPI's own choice stays (not measured here). Must run before MPI_Init, which reads it.
    private static func chooseNonBlockingAllReduce() {
        let environment = ProcessInfo.processInfo.environment
        guard let ranks = environment["OMPI_COMM_WORLD_SIZE"].flatMap(Int.init), (2...3).contains(ranks) else { return }
        setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1", 0)
    }

    /// Prints `message` on stderr and ends every rank of the job with `code` (MPI_Abort); use when
    /// this rank cannot go on and the others may be waiting for it in a collective.
    public func abort(_ message: String, code: Int32 = 1) -> Never {
        writeToStandardError("rank \(rank)/\(size): \(message)\n")
        MPI_Abort(carina_mpi_comm_world(), code)
        exit(code)
    }
}

/// Writes a string to file descriptor 2 without buffering.
func writeToStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}

/// Throws `DistError.mpi` naming `call` and MPI's message when `code` is not MPI_SUCCESS.
func checkMPI(_ code: Int32, _ call: String) throws {
    guard code != MPI_SUCCESS else { return }
    var text = [CChar](repeating: 0, count: 512)  // MPI_MAX_ERROR_STRING is 256 in OpenMPI
    var length: Int32 = 0
    let message = text.withUnsafeMutableBufferPointer { buffer -> String in
        guard MPI_Error_string(code, buffer.baseAddress, &length) == MPI_SUCCESS else { return "unknown MPI error" }
        return String(cString: buffer.baseAddress!)
    }
    throw DistError.mpi(call: call, code: code, message: message)
}
