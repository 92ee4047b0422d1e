// Every config in configs/ loads: no unknown keys, no wrong types, its model section builds and its training
// plan (stages, optimizers, schedules) resolves.
import Foundation
import Testing
import CarinaData
import CarinaModels
import CarinaTrain

private let configs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("configs")

@Suite struct ShippedConfigTests {
    @Test func everyShippedConfigLoadsAndResolves() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: configs.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(names.count >= 6, "\(names)")
        for name in names {
            let file = try RunConfigFile(path: configs.appendingPathComponent(name).path)
            let resolved = try file.buildMethod(classNames: PhantomFindings.classNames, vocabularySize: file.run.data.vocabularySize)
            #expect(!resolved.resolvedModel.isEmpty && resolved.method.model.parameterCount() > 0, "\(name)")
            #expect(ReportAugmentation(name: file.run.data.textAugment, keep: file.run.data.sentenceKeep) != nil, "\(name)")
            // Its stages, optimizers and schedules are ones the trainer knows (epochs counted on 10 batches).
            let plan = try TrainingPlan(file.run, batchesPerEpoch: 10, method: resolved.method, source: name)
            #expect(plan.totalSteps > 0, "\(name)")
        }
    }
}
