// Several "hosts" on one machine over a real network stack (launch/netns-cluster.sh: network namespaces,
// veth pairs into a bridge, tc-shaped links, mpirun's daemons started by a launch agent instead of ssh,
// ranks talking over OpenMPI's TCP transport only). Every method's data-parallel equivalence check runs
// across 2 hosts, and the collectives across 4 hosts oversubscribed on the cores. Skips with a message
// where network namespaces cannot be made (not root, or a container without CAP_NET_ADMIN).
// Not for: speed (bench ddp under the same script measures it; docs/scaling.md).
import Foundation
import Testing
import CarinaTestSupport

private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Whether this machine lets the test build network namespaces (tried once) and has mpirun.
private let namespacesPermitted: Bool = {
    guard getuid() == 0, CarinaBinary.onPath("mpirun") != nil, CarinaBinary.onPath("ip") != nil,
          CarinaBinary.onPath("tc") != nil else { return false }
    let name = "carinaprobe\(getpid())"
    let add = Process()
    add.executableURL = URL(fileURLWithPath: "/bin/sh")
    add.arguments = ["-c", "ip netns add \(name) 2>/dev/null && ip netns del \(name)"]
    guard (try? add.run()) != nil else { return false }
    add.waitUntilExit()
    return add.terminationStatus == 0
}()

extension Trait where Self == ConditionTrait {
    /// Skips, with a message, where network namespaces cannot be made.
    static var needsNetworkNamespaces: Self {
        .enabled(if: namespacesPermitted, "network namespaces cannot be created here (needs root with CAP_NET_ADMIN, iproute2 and mpirun)")
    }
}

@Suite(.serialized) struct MultiHostNetnsTests {
    private func cluster(hosts: Int, rate: String, _ arguments: [String], timeout seconds: Int) async throws -> SubprocessResult {
        try await runSubprocess(URL(fileURLWithPath: "/bin/bash"),
                                [root.appendingPathComponent("launch/netns-cluster.sh").path, "--hosts", "\(hosts)", "--rate", rate, "--"] + arguments,
                                environment: ["CARINA_BINARY": try CarinaBinary.locate().path], timeout: .seconds(seconds))
    }

    @Test(.needsNetworkNamespaces)
    func everyMethodTrainsAcrossTwoHostsExactlyAsOneProcessDoes() async throws {
        // 2–50 s in the debug build (50 with the whole suite beside it); the guard is over ten times that.
        let result = try await cluster(hosts: 2, rate: "10gbit", ["selftest", "ddp"], timeout: 600)
        expectEveryMethodMatchedOneProcess(result, ranks: 2)
        #expect(result.stderr.contains("2 hosts on"), "\(result.stderr)")
    }

    @Test(.needsNetworkNamespaces)
    func collectivesWorkAcrossFourHostsOnTwoCores() async throws {
        let result = try await cluster(hosts: 4, rate: "1gbit", ["selftest"], timeout: 300)
        #expect(result.status == 0, "stdout:\n\(result.stdout)\nstderr:\n\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init).sorted()
        #expect(lines == (0..<4).map { "selftest rank \($0)/4: allreduce ok (10.0), allgather ok, broadcast ok, reduce-scatter ok, non-blocking ok, zstd ok, png ok" },
                "stderr:\n\(result.stderr)")
    }

    @Test(.needsNetworkNamespaces)
    func theHarnessLeavesNoNamespaceOrLinkBehind() async throws {
        let result = try await cluster(hosts: 2, rate: "1gbit", ["selftest", "--fail-on-rank", "1"], timeout: 120)
        #expect(result.status != 0, "a failing rank must fail the cluster run")
        // The script names what it builds ("... bridge c1234br ..."): none of it may outlive the run.
        let words = result.stderr.split(whereSeparator: { " \n,;()".contains($0) })
        guard let bridge = words.first(where: { $0.hasPrefix("c") && $0.hasSuffix("br") && $0.dropFirst().dropLast(2).allSatisfy(\.isNumber) }) else {
            Issue.record("the script did not name its bridge:\n\(result.stderr)")
            return
        }
        let tag = String(bridge.dropLast(2))
        let listing = try await runSubprocess(URL(fileURLWithPath: "/bin/sh"), ["-c", "ip netns list; ip -br link"], timeout: .seconds(30))
        #expect(!listing.stdout.contains(tag), "left behind by \(tag):\n\(listing.stdout)")
    }
}
