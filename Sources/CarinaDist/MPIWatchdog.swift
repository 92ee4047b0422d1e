// Completes MPI requests against a deadline instead of blocking forever, and when one is late asks every
// rank where it is (a roll call on a side communicator), so the error names the ranks that did not arrive.
// Not for: starting collectives (MPICommunicator) or ending the job (the caller aborts on the error).

import CMPI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Polls requests with MPI_Test until they complete or `timeout` seconds pass (a blocking MPI call cannot
/// be interrupted; a polled one can). On a timeout it holds a roll call: it sends every other rank a
/// question on a duplicate communicator and waits a short grace period for answers. A rank answers only
/// while it is itself waiting in a collective (its poll loop services questions), with the number of that
/// collective. So the error can tell apart:
///   - ranks waiting in the same collective (they arrived);
///   - ranks waiting in another collective (ranks called collectives in a different order, or one is behind);
///   - ranks that did not answer: stopped (SIGSTOP, a debugger), dead without MPI noticing, or busy outside
///     MPI (computing, reading data, writing a checkpoint) for the whole grace period. It cannot tell
///     these three apart: that needs something outside MPI (the scheduler, `ps`, a stack dump).
/// After the first timeout the communicator refuses further calls: a request was abandoned, and the caller
/// is expected to end the job (MPI_Abort).
final class MPIWatchdog {
    /// Seconds a collective may take on this rank before the job is declared stuck.
    var timeout: Double
    private let rank: Int
    private let size: Int
    /// A duplicate of the collectives' communicator: roll-call messages never match application traffic.
    private let side: MPI_Comm
    /// Collectives started on this rank so far. Every rank starts the same collectives in the same order,
    /// so equal numbers on two ranks mean the same collective.
    private(set) var started: Int64 = 0
    /// The number of the collective this rank waits in, 0 when it waits in none.
    private var waitingIn: Int64 = 0
    /// The first timeout; every later call throws it again.
    private(set) var failure: DistError?

    /// The pre-posted receive for a roll-call question (any source), and the buffers messages go from:
    /// one question and one answer (waiting-in, started) slot per peer, alive as long as the watchdog.
    private let question = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
    private var questionRequest: MPI_Request? = carina_mpi_request_null()
    private let asked: UnsafeMutablePointer<Int64>
    private let answers: UnsafeMutablePointer<Int64>

    static let questionTag: Int32 = 7301
    static let answerTag: Int32 = 7302

    init(comm: MPI_Comm, rank: Int, size: Int, timeout: Double) throws {
        self.rank = rank
        self.size = size
        self.timeout = timeout
        var side: MPI_Comm? = nil
        try checkMPI(MPI_Comm_dup(comm, &side), "MPI_Comm_dup")
        self.side = side!
        try checkMPI(MPI_Comm_set_errhandler(self.side, carina_mpi_errors_return()), "MPI_Comm_set_errhandler")
        asked = .allocate(capacity: size)
        answers = .allocate(capacity: 2 * size)
        asked.initialize(repeating: 0, count: size)
        answers.initialize(repeating: 0, count: 2 * size)
        question.initialize(to: 0)
        if size > 1 { try postQuestionReceive() }
    }

    // The buffers stay allocated: MPI may still hold a pending receive into `question` at exit.

    /// Numbers a new collective on this rank (call before starting it); throws the earlier timeout, if any.
    func begin() throws -> Int64 {
        if let failure { throw failure }
        started += 1
        return started
    }

    /// Waits until `request` (collective `number`, named `call` in errors) completes or the timeout
    /// passes; then holds a roll call and throws `.timeout` saying which ranks did not arrive.
    func complete(_ request: inout MPI_Request?, number: Int64, call: String) throws {
        if let failure { throw failure }
        var done: Int32 = 0
        try checkMPI(MPI_Test(&request, &done, carina_mpi_status_ignore()), "MPI_Test (\(call))")
        if done != 0 { return }
        waitingIn = number
        defer { waitingIn = 0 }
        let start = MPIWatchdog.now()
        var lastService = start, lastLook = start, paused = 0.0
        while true {
            try checkMPI(MPI_Test(&request, &done, carina_mpi_status_ignore()), "MPI_Test (\(call))")
            if done != 0 { return }
            let now = MPIWatchdog.now()
            // A gap of over a second between two looks means this rank itself did not run (SIGSTOP, a
            // suspended job): that time does not count against the others, or a rank resumed by mpirun
            // only to be killed would first blame the ranks that waited for it.
            if now - lastLook > 1 { paused += now - lastLook }
            lastLook = now
            let waited = now - start - paused
            if waited >= timeout { break }
            if now - lastService >= 0.01 {
                try answerRollCalls()
                lastService = now
            }
            // Poll without sleeping, as MPI_Wait does: OpenMPI's non-blocking collectives advance only inside
            // MPI calls. After 10 ms, yield the core between polls, for ranks that share cores (oversubscribed).
            if waited > 0.01 { sched_yield() }
        }
        let error = DistError.timeout(call: "\(call) (collective #\(number) of rank \(rank))", seconds: timeout,
                                      detail: rollCall(number: number))
        failure = error
        throw error
    }

    /// Seconds on a monotonic clock.
    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    private func postQuestionReceive() throws {
        try checkMPI(MPI_Irecv(question, 1, carina_mpi_int64(), carina_mpi_any_source(), MPIWatchdog.questionTag, side, &questionRequest),
                     "MPI_Irecv (roll call)")
    }

    /// Answers every roll-call question that has arrived with (the collective this rank waits in, the
    /// collectives it has started).
    private func answerRollCalls() throws {
        guard size > 1 else { return }
        while true {
            var done: Int32 = 0
            var status = MPI_Status()
            try checkMPI(MPI_Test(&questionRequest, &done, &status), "MPI_Test (roll call)")
            guard done != 0 else { return }
            let asker = Int(status.MPI_SOURCE)
            if (0..<size).contains(asker) {
                answers[2 * asker] = waitingIn
                answers[2 * asker + 1] = started
                var sent: MPI_Request? = carina_mpi_request_null()
                try checkMPI(MPI_Isend(answers + 2 * asker, 2, carina_mpi_int64(), Int32(asker), MPIWatchdog.answerTag, side, &sent),
                             "MPI_Isend (roll call)")
                try checkMPI(MPI_Request_free(&sent), "MPI_Request_free (roll call)")
            }
            try postQuestionReceive()
        }
    }

    /// Asks every other rank where it is, waits up to min(10 s, max(1 s, timeout / 10)) for answers, and
    /// describes who arrived, who waits elsewhere and who did not answer.
    private func rollCall(number: Int64) -> String {
        guard size > 1 else { return "this is the only rank" }
        let grace = min(10, max(1, timeout / 10))
        var replies: [Int: (waitingIn: Int64, started: Int64)] = [:]
        var problem: String? = nil
        do {
            for peer in 0..<size where peer != rank {
                asked[peer] = number
                var sent: MPI_Request? = carina_mpi_request_null()
                try checkMPI(MPI_Isend(asked + peer, 1, carina_mpi_int64(), Int32(peer), MPIWatchdog.questionTag, side, &sent),
                             "MPI_Isend (roll call)")
                try checkMPI(MPI_Request_free(&sent), "MPI_Request_free (roll call)")
            }
            let reply = UnsafeMutablePointer<Int64>.allocate(capacity: 2)  // left allocated: a receive may stay posted
            var request: MPI_Request? = carina_mpi_request_null()
            try checkMPI(MPI_Irecv(reply, 2, carina_mpi_int64(), carina_mpi_any_source(), MPIWatchdog.answerTag, side, &request),
                         "MPI_Irecv (roll call)")
            let start = MPIWatchdog.now()
            while replies.count < size - 1 && MPIWatchdog.now() - start < grace {
                try answerRollCalls()  // ranks that timed out too ask this one
                var done: Int32 = 0
                var status = MPI_Status()
                try checkMPI(MPI_Test(&request, &done, &status), "MPI_Test (roll call)")
                if done != 0 {
                    replies[Int(status.MPI_SOURCE)] = (reply[0], reply[1])
                    try checkMPI(MPI_Irecv(reply, 2, carina_mpi_int64(), carina_mpi_any_source(), MPIWatchdog.answerTag, side, &request),
                                 "MPI_Irecv (roll call)")
                } else {
                    usleep(1000)
                }
            }
        } catch {
            problem = "the roll call itself failed (\(error))"
        }
        let peers = (0..<size).filter { $0 != rank }
        let silent = peers.filter { replies[$0] == nil }
        let elsewhere = peers.filter { replies[$0].map { $0.waitingIn != number } ?? false }
        let arrived = peers.filter { replies[$0]?.waitingIn == number }
        var parts: [String] = []
        let missing = (silent + elsewhere).sorted()
        parts.append(missing.isEmpty ? "every rank answered from this collective" : "missing: \(ranks(missing))")
        if !silent.isEmpty {
            parts.append("\(ranks(silent)) did not answer a roll call within \(MPIWatchdog.seconds(grace)) s "
                         + "(stopped, dead, or busy outside MPI that long)")
        }
        for peer in elsewhere {
            let r = replies[peer]!
            parts.append("rank \(peer) waits in collective #\(r.waitingIn) (has started \(r.started)), this rank in #\(number)")
        }
        parts.append(arrived.isEmpty ? "no other rank arrived" : "arrived: \(ranks(arrived))")
        if let problem { parts.append(problem) }
        return parts.joined(separator: "; ")
    }

    private func ranks(_ list: [Int]) -> String {
        (list.count == 1 ? "rank " : "ranks ") + list.map(String.init).joined(separator: ", ")
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
