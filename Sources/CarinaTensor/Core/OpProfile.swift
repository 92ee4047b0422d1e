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
    /// Nanoseconds spent in sections so far: a backward closure that runs one (an all-gather's backward
    /// communicates) is charged its own time without the section's.
    nonisolated(unsafe) private static var inSections: UInt64 = 0

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
        last = now
    }

    /// Runs op `op`'s backward closure, timed when profiling.
    @inline(__always)
    static func backward(_ op: String, _ body: () throws -> Void) rethrows {
        guard measuring else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds, sectionsBefore = inSections
        try body()
        let now = DispatchTime.now().uptimeNanoseconds
        totals["backward " + op, default: 0] += Double(now &- start &- (inSections &- sectionsBefore)) / 1e9
        last = now
    }

    /// Times `body` as the named section (e.g. "optimizer", "communication") and restarts the forward clock
    /// after it, so its time is not charged to the next op.
    public static func section<R>(_ name: String, _ body: () throws -> R) rethrows -> R {
        guard measuring else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        let sectionsBefore = inSections
        defer {
            let now = DispatchTime.now().uptimeNanoseconds
            let own = now &- start &- (inSections &- sectionsBefore)  // a nested section is charged once, to itself
            totals[name, default: 0] += Double(own) / 1e9
            inSections &+= own
            last = now
        }
        return try body()
    }

    /// Restarts the forward clock without charging anyone (before a step's first op).
    public static func resetClock() {
        guard measuring else { return }
        last = DispatchTime.now().uptimeNanoseconds
    }
}
