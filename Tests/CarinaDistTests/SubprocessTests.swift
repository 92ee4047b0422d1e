// The subprocess helper itself: a program that hangs is stopped at the time limit and reported.
// Not for: what carina prints (SelfTestUnderMPITests).

import CarinaTestSupport
import Foundation
import Testing

@Suite struct SubprocessTimeoutTests {
    @Test func hangingSubprocessIsKilledAtTheTimeout() async throws {
        let start = ContinuousClock.now
        let error = await #expect(throws: SubprocessError.self) {
            try await runSubprocess(URL(fileURLWithPath: "/bin/sleep"), ["30"], timeout: .seconds(1))
        }
        #expect(String(describing: error!).contains("did not finish within"))
        // Well before sleep's 30 s: the timeout ended it. (A loose bound: CI machines are shared and slow.)
        #expect(ContinuousClock.now - start < .seconds(20), "the hanging process was not ended at the timeout")
    }
}
