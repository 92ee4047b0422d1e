// Every config in configs/ loads: no unknown keys, no wrong types, and its model section builds.
import Foundation
import Testing
import CarinaModels
import CarinaTrain
import Yams

private let configs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("configs")

@Suite struct ShippedConfigTests {
    @Test(arguments: ["clip-tiny.yaml", "clip-vit-b16-mimic.yaml", "convirt-resnet50-mimic.yaml"])
    func configLoadsAndItsModelSectionResolves(_ name: String) throws {
        let path = configs.appendingPathComponent(name).path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let values = try #require(try Yams.load(yaml: text) as? [String: Any])
        var run = values
        let model = run.removeValue(forKey: "model") as? [String: Any] ?? [:]
        let config = try ConfigLoader.decode(RunConfig.self, values: run, defaults: RunConfig(), source: path)
        #expect(config.method == "clip")
        var clip = CLIPConfig()
        clip.imageSize = config.data.imageSize
        clip.contextLength = config.data.contextLength
        clip.vocabSize = config.data.vocabularySize
        let resolved = try ConfigLoader.decode(CLIPConfig.self, values: model, defaults: clip, source: path)
        #expect(resolved.embedDim > 0)
    }
}
