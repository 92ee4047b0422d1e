// The README's main command, shortened: launch/quickstart.sh with a tiny config and the already built debug
// binary, end to end (setup check, mpirun -np 2 where there are 2 cores, training, checkpoint, evaluation).
import Foundation
import Testing
import CarinaTestSupport

private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

@Suite struct QuickstartScriptTests {
    @Test func shortenedQuickstartTrainsChecksAndEvaluates() async throws {
        let dir = NSTemporaryDirectory() + "carina-quickstart-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let config = """
            method: clip
            seed: 2
            model: {patchSize: 8, visionWidth: 16, visionDepth: 1, visionHeads: 2, textWidth: 16, textDepth: 1, textHeads: 2, embedDim: 8}
            data: {syntheticCount: 150, imageSize: 32, contextLength: 24, vocabularySize: 300}
            train: {globalBatch: 8, steps: 6, warmupSteps: 1, checkpointEvery: 3, logEvery: 3}
            eval: {maxSamples: 12, probeFractions: [0.5, 1.0]}
            """
        try config.write(toFile: dir + "/tiny.yaml", atomically: true, encoding: .utf8)
        let result = try await runSubprocess(URL(fileURLWithPath: "/bin/bash"), [root.appendingPathComponent("launch/quickstart.sh").path],
                                             environment: ["CONFIG": dir + "/tiny.yaml", "RUN_DIR": dir + "/run",
                                                           "CARINA_BINARY": try CarinaBinary.locate().path],
                                             timeout: .seconds(240))
        #expect(result.status == 0, "stdout:\n\(result.stdout)\nstderr:\n\(result.stderr)")
        for expected in ["finished 6 steps", "zero-shot macro AUC", "linear probe 100 % macro AUC", "retrieval image->report R@1/5/10", "quickstart: done"] {
            #expect(result.stdout.contains(expected), "missing '\(expected)' in:\n\(result.stdout)")
        }
        for file in ["checkpoints/latest", "metrics.jsonl", "curves.svg", "config.yaml", "vocab.txt"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/run/" + file), "no \(file)")
        }
    }
}
