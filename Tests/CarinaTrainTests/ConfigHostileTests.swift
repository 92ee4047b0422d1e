// Configs crafted to exhaust memory or hang (issue 11): YAML aliases ("billion laughs") are refused before
// anything is expanded, nesting and size are bounded, and only a regular file is read. Not for: the meaning
// of keys (ConfigRangeTests, RunConfigTests).
import Foundation
import Testing
import CarinaTestSupport
import CarinaTrain

@Suite struct ConfigHostileTests {
    func error(_ yaml: String) -> String {
        do {
            _ = try RunConfigFile(yaml: yaml, source: "bad.yaml")
            return "no error"
        } catch { return "\(error)" }
    }

    @Test func aBillionLaughsConfigIsRefusedBeforeAnyAliasIsExpanded() {
        // Nine aliases of nine aliases, nine levels deep: 9^9 strings (gigabytes) from 700 bytes.
        var yaml = "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        for level in 1...9 {
            yaml += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ",") + "]\n"
        }
        yaml += "method: clip\n"
        #expect(error(yaml) == "bad.yaml:1: YAML anchors and aliases are not accepted in a config (&a0); write the value out")
        #expect(error("method: clip\ntrain:\n  lr: *x\n").contains("bad.yaml:3:"))
        #expect(error("method: clip\ntrain: &t\n  lr: 0.1\n") == "bad.yaml:2: YAML anchors and aliases are not accepted in a config (&t); write the value out")
    }

    @Test func nestingAndSizeAreBounded() {
        func nested(_ depth: Int) -> String { "method: clip\nx: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n" }
        #expect(error(nested(40)) == "bad.yaml:2: nested more than 32 levels deep")
        #expect(error(nested(100_000)).hasPrefix("bad.yaml:2: "))  // libyaml's own limit comes first
        let big = "method: clip\n" + String(repeating: "# padding\n", count: 110_000)
        #expect(error(big) == "bad.yaml: \(big.utf8.count) bytes; a config is at most 1048576 bytes")
        #expect(error("method: clip\ntrain: {lr: [1, 2\n").hasPrefix("bad.yaml:"))
    }

    @Test func aKeyThatIsAMappingOrListIsAnErrorNotATrap() {
        // Found by launch/fuzz.sh (yaml): Yams force-unwraps a key that cannot be hashed.
        #expect(error("method: pspg\ntraind{e :sol: {[{name: a, steps: 1}]}\n") == "bad.yaml:2: a mapping key must be a plain value, not a mapping or a list")
        #expect(error("method: clip\n? [a, b]\n: 1\n") == "bad.yaml:2: a mapping key must be a plain value, not a mapping or a list")
        #expect(error("method: clip\ntrain: {learningRate: 0.1, stages: [{name: a, steps: 1}]}\n") == "no error")
    }

    @Test func onlyARegularFileIsReadAsAConfig() throws {
        let dir = try makeTemporaryDirectory("config-pipe")
        let pipe = dir + "/config.yaml"
        #expect(mkfifo(pipe, 0o600) == 0)
        // Run where a hang would not stop the suite: a reader blocked in open(2) is a failure after 60 s.
        let done = DispatchSemaphore(value: 0)
        final class Box: @unchecked Sendable { var message = "" }
        let box = Box()
        Thread {
            do { _ = try RunConfigFile(path: pipe) } catch { box.message = "\(error)" }
            done.signal()
        }.start()
        #expect(done.wait(timeout: .now() + 60) == .success, "reading a named pipe as a config hung")
        #expect(box.message == "\(pipe): cannot read the config file: not a regular file (a named pipe)")
        try "method: clip\n".write(toFile: dir + "/ok.yaml", atomically: true, encoding: .utf8)
        #expect(try RunConfigFile(path: dir + "/ok.yaml").run.method == "clip")
    }
}
