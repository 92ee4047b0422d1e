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
        // The runs that configs build on (`model.clipFrom`) do not exist in a clone: each stands for the run
        // its config makes, with a vocabulary of that config's size.
        let producers = ["runs/quickstart": "clip-tiny.yaml", "runs/clip-covid": "clip-covid.yaml",
                         "runs/convirt-resnet50-mimic": "convirt-resnet50-mimic.yaml", "runs/m3ae-tiny": "m3ae-tiny.yaml"]
        let readRun: @Sendable (String) throws -> SourceRun = { path in
            guard let producer = producers[path] else { throw ConfigError("no shipped config makes \(path)") }
            let file = try RunConfigFile(path: configs.appendingPathComponent(producer).path)
            let known = WordPieceTokenizer.specialTokens + Set(PhantomFindings.classNames.flatMap { $0.lowercased().split(separator: " ").map(String.init) }).sorted()
            let words = known + (0..<(file.run.data.vocabularySize - known.count)).map { "w\($0)" }
            return file.asSourceRun(checkpoint: path, tokenizer: try WordPieceTokenizer(vocabulary: words), vocabularyPath: nil)
        }
        // Pretrained weights (`initFrom: hf:DIR`) are not in a clone either: the tiny CLIPModel fixture stands for
        // a missing directory named like a CLIP, the tiny BERT fixture for any other, each with its positions (20
        // of CLIP's 24 used, BERT's 24) as the context length.
        let interop = configs.deletingLastPathComponent().appendingPathComponent("Tests/CarinaTrainTests/Fixtures/interop")
        for name in names {
            var yaml = try String(contentsOf: configs.appendingPathComponent(name), encoding: .utf8)
            for line in yaml.split(separator: "\n") where line.lowercased().contains("initfrom: hf:") || line.contains("initFrom: openclip:") {
                // initFrom, imageInitFrom, textInitFrom; hf: or openclip: (the tiny open_clip ModifiedResNet stands in)
                let scheme = line.contains("openclip:") ? "openclip:" : "hf:"
                let directory = String(line.split(separator: scheme, maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces)
                if !FileManager.default.fileExists(atPath: directory + (scheme == "hf:" ? "/config.json" : "/open_clip_config.json")) {
                    let clip = (directory as NSString).lastPathComponent.lowercased().contains("clip")
                    let standIn = interop.appendingPathComponent(scheme == "openclip:" ? "openclip-rn" : clip ? "clip-tiny" : "bert-tiny").path
                    yaml = yaml.replacingOccurrences(of: scheme + directory, with: scheme + standIn).split(separator: "\n", omittingEmptySubsequences: false)
                        .map { $0.trimmingCharacters(in: .whitespaces).hasPrefix("contextLength:") ? "  contextLength: \(clip ? 20 : 24)" : String($0) }
                        .joined(separator: "\n")
                }
            }
            let file = try RunConfigFile(yaml: yaml, source: name)
            let resolved = try file.buildMethod(classNames: PhantomFindings.classNames, vocabularySize: file.run.data.vocabularySize, readRun: readRun)
            #expect(!resolved.resolvedModel.isEmpty && resolved.method.model.parameterCount() > 0, "\(name)")
            #expect(ReportAugmentation(name: file.run.data.textAugment, keep: file.run.data.sentenceKeep) != nil, "\(name)")
            // Its stages, optimizers and schedules are ones the trainer knows (epochs counted on 10 batches).
            let plan = try TrainingPlan(file.run, batchesPerEpoch: 10, method: resolved.method, source: name)
            #expect(plan.totalSteps > 0, "\(name)")
        }
    }
}
