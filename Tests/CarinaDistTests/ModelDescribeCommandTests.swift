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
}
