// A run's YAML file split into its two halves: the method-independent RunConfig and the method's raw
// `model:` section, which the method's registry entry decodes. Not for: key meanings (RunConfig.swift).
import CarinaModels
import Foundation
import Yams

public struct RunConfigFile {
    public let path: String
    public let run: RunConfig
    public let modelSection: [String: Any]

    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError("\(path): cannot read the config file (missing, unreadable or not UTF-8)")
        }
        try self.init(yaml: text, source: path)
    }

    public init(yaml: String, source: String) throws {
        let loaded: Any?
        do { loaded = try Yams.load(yaml: yaml) } catch { throw ConfigError("\(source): not valid YAML: \(error)") }
        guard var values = (loaded ?? [String: Any]()) as? [String: Any] else {
            throw ConfigError("\(source): the top level must be a mapping of keys to values")
        }
        let model = values.removeValue(forKey: "model") ?? [String: Any]()
        guard let section = model as? [String: Any] else { throw ConfigError("\(source): key 'model' must be a mapping") }
        path = source
        modelSection = section
        run = try ConfigLoader.decode(RunConfig.self, values: values, defaults: RunConfig(), source: source)
    }

    /// Builds the method named by the config for this data (image size, context, vocabulary, classes).
    public func buildMethod(classNames: [String], vocabularySize: Int) throws -> (method: TrainingMethod, resolvedModel: String) {
        let context = MethodContext(seed: run.seed, imageSize: run.data.imageSize, contextLength: run.data.contextLength,
                                    vocabularySize: vocabularySize, classNames: classNames)
        return try MethodRegistry.entry(run.method, source: path).build(modelSection, context, path)
    }
}
