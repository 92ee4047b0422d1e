// `carina model describe` as users run it on shipped configs: methods with a per-finding head are built for
// the phantoms' findings (less the held-out ones) or for --classes, and their parameter groups are shown.

import Foundation
import Testing
import CarinaTestSupport

private let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

@Suite struct ModelDescribeCommandTests {
    @Test func describesHeadsForTheFindingsAndTheirLearningRateFactors() async throws {
        let finetune = try await runSubprocess(try CarinaBinary.locate(), ["model", "describe", "--config", repository + "/configs/finetune-tiny-scratch.yaml"])
        #expect(finetune.status == 0, "\(finetune.stderr)")
        #expect(finetune.stdout.contains("head.weight") && finetune.stdout.contains("(9, 192)"), "\(finetune.stdout)")
        let three = try await runSubprocess(try CarinaBinary.locate(), ["model", "describe", "--config", repository + "/configs/finetune-tiny-scratch.yaml",
                                                                       "--classes", "Edema, Nodule,Cardiomegaly"])
        #expect(three.stdout.contains("(3, 192)"), "\(three.stdout)")
        let m3ae = try await runSubprocess(try CarinaBinary.locate(), ["model", "describe", "--config", repository + "/configs/m3ae-tiny.yaml"])
        #expect(m3ae.status == 0, "\(m3ae.stderr)")
        #expect(m3ae.stdout.contains("textLayers.0.crossAttention.query.weight") && m3ae.stdout.contains("lr x5.0"), "\(m3ae.stdout)")
    }

    @Test func benchTrainTimesTheStageItIsAskedFor() async throws {
        let dir = try makeTemporaryDirectory("bench-stage")
        let yaml = try String(contentsOfFile: repository + "/configs/prior-tiny.yaml", encoding: .utf8)
            .replacingOccurrences(of: "imageSize: 128", with: "imageSize: 64").replacingOccurrences(of: "globalBatch: 64", with: "globalBatch: 8")
            .replacingOccurrences(of: "syntheticCount: 4096", with: "syntheticCount: 256")
        try yaml.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let stage3 = try await runSubprocess(try CarinaBinary.locate(), ["bench", "train", "--config", dir + "/p.yaml", "--stage", "reconstruction", "--steps", "1"])
        #expect(stage3.status == 0 && stage3.stdout.contains("samples/s"), "\(stage3.stderr)")
        let profiled = try await runSubprocess(try CarinaBinary.locate(), ["bench", "train", "--config", dir + "/p.yaml", "--steps", "1", "--profile"])
        for row in ["GEMM (linear, matmul, conv)", "attention (fused)", "normalisation", "optimizer (zero grad, clip, step)", "assembling one local batch"] {
            #expect(profiled.status == 0 && profiled.stdout.contains(row), "\(row):\n\(profiled.stdout)\n\(profiled.stderr)")
        }
        let unknown = try await runSubprocess(try CarinaBinary.locate(), ["bench", "train", "--config", dir + "/p.yaml", "--stage", "warmup", "--steps", "1"])
        #expect(unknown.status != 0 && (unknown.stderr + unknown.stdout).contains("no stage 'warmup'; its stages: alignment, prototypes, reconstruction"),
                "\(unknown.stderr)")
    }
}
