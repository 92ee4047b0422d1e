// Where a training step's time goes, by op (`carina bench train --profile`): every backward closure is timed
// and charged to its op; a forward op is charged the time since the previous recorded op ended (ops record
// their GradFn right after computing, so the gap is that op's forward plus any untracked glue before it);
// named sections (the optimizer step, waiting on communication) are timed whole and restart the forward
// clock. Only the thread that started the profile is measured (loader workers and other threads are not).
// Off, it costs one atomic load per recorded op. Not for: tests' judgements (speed is never asserted).
import Dispatch
import Foundation
import Synchronization

public enum OpProfile {
    private static let enabled = Atomic<Bool>(false)
    nonisolated(unsafe) private static var owner = pthread_self()
    nonisolated(unsafe) private static var last: UInt64 = 0
    nonisolated(unsafe) private static var totals: [String: Double] = [:]
    /// Nanoseconds charged so far, to anything. Charges never overlap: a backward closure or section that
    /// runs ops or sections of its own (an all-gather's backward communicates; a recomputed block runs its
    /// forward and backward again) is charged its time without theirs, and the forward clock restarts when
    /// one begins.
    nonisolated(unsafe) private static var charged: UInt64 = 0

    /// Starts (or restarts) a profile on the calling thread, discarding what was gathered before.
    public static func start() {
        owner = pthread_self()
        totals = [:]
        last = DispatchTime.now().uptimeNanoseconds
        enabled.store(true, ordering: .releasing)
    }

    /// Stops profiling and returns seconds by key: "forward <op>", "backward <op>" or a section's name.
    @discardableResult
    public static func stop() -> [String: Double] {
        enabled.store(false, ordering: .releasing)
        return totals
    }

    /// Seconds gathered so far (profiling continues).
    public static var snapshot: [String: Double] { totals }

    @inline(__always)
    private static var measuring: Bool {
        enabled.load(ordering: .acquiring) && pthread_equal(pthread_self(), owner) != 0
    }

    /// Marks the end of op `op`'s forward computation.
    @inline(__always)
    static func forward(_ op: String) {
        guard measuring else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        totals["forward " + op, default: 0] += Double(now &- last) / 1e9
        charged &+= now &- last
        last = now
    }

    /// Runs op `op`'s backward closure, timed when profiling.
    @inline(__always)
    static func backward(_ op: String, _ body: () throws -> Void) rethrows {
        guard measuring else { return try body() }
        let start = begin()
        try body()
        end("backward " + op, start)
    }

    /// Times `body` as the named section (e.g. "optimizer", "communication") and restarts the forward clock
    /// after it, so its time is not charged to the next op.
    public static func section<R>(_ name: String, _ body: () throws -> R) rethrows -> R {
        guard measuring else { return try body() }
        let start = begin()
        defer { end(name, start) }
        return try body()
    }

    /// The start of a timed closure: its start time and what was charged before it; the forward clock
    /// restarts so an op inside is not charged time from before.
    @inline(__always)
    private static func begin() -> (time: UInt64, charged: UInt64) {
        let now = DispatchTime.now().uptimeNanoseconds
        last = now
        return (now, charged)
    }

    /// Charges `key` the time since `start` less what was charged inside, and restarts the forward clock.
    @inline(__always)
    private static func end(_ key: String, _ start: (time: UInt64, charged: UInt64)) {
        let now = DispatchTime.now().uptimeNanoseconds
        let elapsed = now &- start.time, inside = charged &- start.charged
        let own = elapsed > inside ? elapsed - inside : 0
        totals[key, default: 0] += Double(own) / 1e9
        charged &+= own
        last = now
    }

    /// Restarts the forward clock without charging anyone (before a step's first op).
    public static func resetClock() {
        guard measuring else { return }
        last = DispatchTime.now().uptimeNanoseconds
    }
}
