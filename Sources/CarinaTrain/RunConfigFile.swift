// A run's YAML file split into its two halves: the method-independent RunConfig (with `train.stages`
// decoded entry by entry over the train section's values) and the method's raw `model:` section, which
// the method's registration decodes. Not for: key meanings (RunConfig.swift).
import CarinaCheckpoint
import CarinaData
import CarinaModels
import Foundation

public struct RunConfigFile {
    public let path: String
    public let run: RunConfig
    public let modelSection: [String: Any]

    public init(path: String) throws {
        let text = try ConfigLoader.text(path)
        try self.init(yaml: text, source: path)
    }

    public init(yaml: String, source: String) throws {
        var values = try ConfigLoader.mapping(yaml: yaml, source: source)
        let model = values.removeValue(forKey: "model") ?? [String: Any]()
        guard let section = model as? [String: Any] else { throw ConfigError("\(source): key 'model' must be a mapping") }
        // Stages are decoded one by one over the train section's values (omitted keys inherit them).
        var stages: [Any] = []
        if var train = values["train"] as? [String: Any], let listed = train.removeValue(forKey: "stages") {
            guard let list = listed as? [Any] else { throw ConfigError("\(source): key 'train.stages' must be a list of mappings") }
            stages = list
            if !list.isEmpty {
                for key in ["steps", "epochs"] where train[key] != nil {
                    throw ConfigError("\(source): train.\(key) and train.stages are both set; the stages' lengths make the run")
                }
            }
            values["train"] = train
        }
        path = source
        modelSection = section
        var run = try ConfigLoader.decode(RunConfig.self, values: values, defaults: RunConfig(), source: source)
        run.train.stages = try stages.enumerated().map { i, entry in
            guard let mapping = entry as? [String: Any] else { throw ConfigError("\(source): train.stages.\(i) must be a mapping") }
            return try ConfigLoader.decode(StageConfig.self, values: mapping, defaults: StageConfig(run.train), source: source, path: "train.stages.\(i)")
        }
        self.run = run
    }

    /// Builds the method named by the config for this data; returns it with its resolved `model:` section
    /// as YAML.
    /// `readRun` reads the runs a method builds on (default: their checkpoints and run directories).
    public func buildMethod(classNames: [String], vocabularySize: Int, tokenizer: WordPieceTokenizer? = nil,
                            readRun: (@Sendable (String) throws -> SourceRun)? = nil) throws -> (method: TrainingMethod, resolvedModel: String) {
        var context = MethodContext(seed: run.seed, imageSize: run.data.imageSize, contextLength: run.data.contextLength,
                                    vocabularySize: vocabularySize, classNames: classNames, tokenizer: tokenizer)
        context.readRun = readRun ?? { try RunConfigFile.sourceRun($0) }
        let section = ModelSection(values: modelSection, source: path)
        let method = try MethodRegistry.registration(run.method, source: path).build(section, context)
        return (method, section.resolved)
    }
}

extension RunConfigFile {
    /// Another run as its checkpoint records it (for a method that builds on it): the checkpoint `path`
    /// resolves to, its config, and its vocabulary (a CLIP run's `model.initFrom: hf:DIR` tokenizer, else its
    /// config's `data.vocabulary`, else `vocab.txt` in its run directory: the directory given, or the one
    /// holding `checkpoints/`).
    static func sourceRun(_ path: String) throws -> SourceRun {
        let checkpoint = try CheckpointStore.resolve(path)
        let state = try CheckpointFile.summary(checkpoint).state
        let file = try RunConfigFile(yaml: state.config, source: "\(checkpoint) (its recorded config)")
        var candidates: [String] = []
        if !file.run.data.vocabulary.isEmpty { candidates.append(file.run.data.vocabulary) }
        let folder = (checkpoint as NSString).deletingLastPathComponent
        candidates.append(((folder as NSString).lastPathComponent == "checkpoints" ? (folder as NSString).deletingLastPathComponent : folder) + "/vocab.txt")
        var tokenizer: (any TextTokenizer)? = nil, found: String? = nil
        // A CLIP run's `initFrom`, or another method's `textInitFrom` (M3AE, PRIOR), that names public weights.
        if let initFrom = file.modelSection[file.run.method == "clip" ? "initFrom" : "textInitFrom"] as? String,
           let scheme = ["hf:", "openclip:"].first(where: { initFrom.hasPrefix($0) }) {
            // Its reports were read with the imported model's tokenizer (CLIP's BPE for a CLIP model), never
            // with the vocab.txt the run also built.
            let directory = String(initFrom.dropFirst(scheme.count))
            tokenizer = try TokenizerFiles.load(directory: directory)
            found = directory
            candidates = []
        }
        for candidate in candidates where FileManager.default.fileExists(atPath: candidate) {
            tokenizer = try WordPieceTokenizer(vocabularyFile: candidate)
            found = candidate
            break
        }
        return file.asSourceRun(checkpoint: checkpoint, tokenizer: tokenizer, vocabularyPath: found)
    }

    /// This config as a run another method builds on, with the given checkpoint and vocabulary.
    public func asSourceRun(checkpoint: String, tokenizer: (any TextTokenizer)?, vocabularyPath: String?) -> SourceRun {
        SourceRun(checkpoint: checkpoint, method: run.method, model: ModelSection(values: modelSection, source: path),
                  imageSize: run.data.imageSize, imageChannels: 1, contextLength: run.data.contextLength,
                  tokenizer: tokenizer, vocabularyPath: vocabularyPath)
    }
}

/// The `model:` mapping of a config file, decoded with ConfigLoader's checks; remembers what it decoded as
/// YAML (the run's resolved model config).
final class ModelSection: ConfigSection {
    let values: [String: Any]
    let source: String
    private(set) var resolved = ""

    init(values: [String: Any], source: String) {
        self.values = values
        self.source = source
    }

    func decode<T: Codable>(_ type: T.Type, defaults: T) throws -> T {
        let value = try ConfigLoader.decode(type, values: values, defaults: defaults, source: source, path: "model")
        resolved = try ConfigLoader.yaml(value)
        return value
    }
}
