// Pre-emption: SIGTERM and SIGUSR1 (Slurm's warning before a kill) set a flag instead of killing the
// process; the training loop notices it at the next step, all ranks agree on it, write a checkpoint and
// exit cleanly so a requeued job resumes. Not for: SIGKILL, which nothing can catch (checkpoints are
// atomic for that case).
import Foundation
import Synchronization

public enum StopSignal {
    private static let requested = Atomic<Int32>(0)

    /// Installs the handlers (idempotent). Returns at once; the flag is read with `received`.
    public static func install() {
        for sig in [SIGTERM, SIGUSR1] {
            signal(sig) { number in StopSignal.requested.store(number, ordering: .relaxed) }
        }
    }

    /// The signal number received since installation (or the last `reset`), nil if none.
    public static var received: Int32? {
        let v = requested.load(ordering: .relaxed)
        return v == 0 ? nil : v
    }

    public static func reset() { requested.store(0, ordering: .relaxed) }

    /// For tests: behave as if `signal` arrived.
    public static func simulate(_ signal: Int32) { requested.store(signal, ordering: .relaxed) }
}
