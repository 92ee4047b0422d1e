// The subprocess helper itself: a program that hangs is stopped at the time limit and reported.
// Not for: what carina prints (SelfTestUnderMPITests).

import CarinaTestSupport
import Foundation
import Testing

@Suite struct SubprocessTimeoutTests {
    /// The promise is that a hang ends, with the reason given, not how fast: sleep's own 30 s (30 times
    /// the 1 s limit) is only the guard, and had the limit not stopped it, it would have exited 0 by itself.
    @Test func hangingSubprocessIsKilledAtTheTimeout() async throws {
        let error = await #expect(throws: SubprocessError.self) {
            try await runSubprocess(URL(fileURLWithPath: "/bin/sleep"), ["30"], timeout: .seconds(1))
        }
        guard let error else { return }  // already recorded
        #expect(error.description.contains("did not finish within"), "\(error)")
        let status = try #require(error.stopped?.status, "\(error)")
        #expect(status == 128 + SIGTERM || status == 128 + SIGKILL, "sleep ended with status \(status), not by the timeout's signal")
    }
}
