// The methods a config can name, each with how to build it from its `model:` section. Adding a method is
// one entry here plus its folder in CarinaModels and a config. Not for: the methods themselves.
import CarinaModels

public enum MethodRegistry {
    public struct Entry: Sendable {
        public let name: String
        public let summary: String
        /// Builds the method from its `model:` mapping; returns it and the resolved section as YAML.
        public let build: @Sendable (_ section: [String: Any], _ context: MethodContext, _ source: String) throws -> (TrainingMethod, String)
    }

    public static let entries: [Entry] = [
        Entry(name: "clip", summary: "CLIP/ConVIRT contrastive image-report pretraining (InfoNCE over global negatives)") { section, context, source in
            var defaults = CLIPConfig()
            defaults.imageSize = context.imageSize
            defaults.imageChannels = context.imageChannels
            defaults.contextLength = context.contextLength
            defaults.vocabSize = context.vocabularySize
            let config = try ConfigLoader.decode(CLIPConfig.self, values: section, defaults: defaults, source: source)
            for (key, value, data) in [("imageSize", config.imageSize, context.imageSize), ("contextLength", config.contextLength, context.contextLength),
                                       ("vocabSize", config.vocabSize, context.vocabularySize)] where value != data {
                throw ConfigError("\(source): model.\(key) is \(value) but the data gives \(data); set it in the data section only")
            }
            return (CLIPMethod(config: config, seed: context.seed), try ConfigLoader.yaml(config))
        },
        Entry(name: "finetune", summary: "supervised fine-tuning of the image encoder with a linear head (BCE over known labels)") { section, context, source in
            var defaults = FineTuneConfig()
            defaults.encoder.imageSize = context.imageSize
            defaults.encoder.imageChannels = context.imageChannels
            let config = try ConfigLoader.decode(FineTuneConfig.self, values: section, defaults: defaults, source: source)
            guard config.encoder.imageSize == context.imageSize else {
                throw ConfigError("\(source): model.encoder.imageSize is \(config.encoder.imageSize) but the data gives \(context.imageSize); set it in the data section only")
            }
            guard !context.classNames.isEmpty else { throw ConfigError("\(source): fine-tuning needs a dataset with labels") }
            return (FineTuneMethod(config: config, classes: context.classNames.count, seed: context.seed), try ConfigLoader.yaml(config))
        },
    ]

    public static func entry(_ name: String, source: String) throws -> Entry {
        guard let e = entries.first(where: { $0.name == name }) else {
            throw ConfigError("\(source): unknown method '\(name)'; known methods: \(entries.map(\.name).joined(separator: ", "))")
        }
        return e
    }
}
