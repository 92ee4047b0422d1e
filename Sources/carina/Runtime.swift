// What every command that computes does first: start MPI (a world of one without mpirun) and choose how
// many threads Carina's kernels use on this rank. Not for: command-specific options.

import CarinaDist
import CarinaNN
import Foundation

enum Runtime {
    /// Starts MPI and sets `Parallel.threads`: CARINA_THREADS if set, else this machine's cores shared
    /// among the ranks on it (at least one).
    static func start() throws -> MPIEnvironment {
        let mpi = try MPIEnvironment.start()
        let environment = ProcessInfo.processInfo.environment
        if let text = environment["CARINA_THREADS"] {
            guard let n = Int(text), n > 0 else {
                throw ValidationFailure("CARINA_THREADS must be a positive integer, got '\(text)'")
            }
            Parallel.threads = n
        } else {
            let local = Int(environment["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? "") ?? mpi.size
            Parallel.threads = max(1, ProcessInfo.processInfo.activeProcessorCount / max(local, 1))
        }
        return mpi
    }

    /// Runs `body`; if it throws on one rank of several, ends the whole job (the others may be waiting
    /// for this rank in a collective) with a message naming the rank.
    static func guarded<T>(_ mpi: MPIEnvironment, _ what: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            if mpi.size > 1 { mpi.abort("\(what) failed: \(error)") }
            throw error
        }
    }
}

/// A command-line value that cannot be used.
struct ValidationFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
