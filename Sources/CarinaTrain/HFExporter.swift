// `carina checkpoint export --format hf`: a checkpoint as a Hugging Face model directory that transformers
// loads in one line (`CLIPModel.from_pretrained(dir)`, `BertModel.from_pretrained(dir)`): config.json and
// model.safetensors from HFExport's inverse name maps, and the tokenizer the run read its reports with (the
// files of its `initFrom: hf:` / `openclip:` directory, or its WordPiece vocab.txt). The directory is written beside the
// target and renamed into place, and an existing non-empty directory is never written into.
// Not for: the name maps (CarinaModels' HFExport) or the safetensors-only export (the command itself).
import CarinaCheckpoint
import CarinaData
import CarinaModels
import CarinaNN
import Foundation

public enum HFExporter {
    /// The tokenizer files copied from a model directory when present.
    static let tokenizerFiles = ["vocab.json", "merges.txt", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json",
                                 TokenizerFiles.clipBPEFileName]

    /// Writes the checkpoint `path` resolves to as a HF directory at `out`; returns a line for the user.
    public static func export(_ path: String, to out: String) throws -> String {
        let file = try CheckpointStore.resolve(path)
        let contents = try CheckpointFile.read(file, groups: ["model"])
        let run = try RunConfigFile(yaml: contents.state.config, source: "\(file) (its recorded config)")
        guard run.run.method == "clip" else {
            throw InteropError(file: file, "a '\(run.run.method)' run has no Hugging Face model to export; --format hf exports CLIP runs "
                               + "(CLIPModel, or the BERT / RoBERTa report encoder); --format safetensors exports any run's weights")
        }
        var defaults = CLIPConfig()
        (defaults.imageSize, defaults.contextLength) = (run.run.data.imageSize, run.run.data.contextLength)
        let config = try ModelSection(values: run.modelSection, source: run.path).decode(CLIPConfig.self, defaults: defaults)
        let (tokenizer, files) = try runTokenizer(checkpoint: file)
        let specials = HFExport.Specials(start: Int(tokenizer.specials.start), end: Int(tokenizer.specials.end), pad: Int(tokenizer.specials.pad))
        let state = Dictionary(contents.model.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        let model: HFExport.Model
        do { model = try HFExport.model(config, state: state, specials: specials) } catch let error as InteropError {
            throw InteropError(file: file, error.detail)
        }
        try write(model, tokenizerFiles: files, wordPiece: tokenizer as? WordPieceTokenizer, step: contents.state.step, checkpoint: file, to: out)
        let bytes = model.tensors.reduce(0) { $0 + $1.tensor.count * 4 }
        return "exported \(model.kind) (\(model.tensors.count) tensors, \(bytes / 1_000_000) MB) of step \(contents.state.step) from \(file) to \(out)"
    }

    /// The tokenizer the run read its reports with, as a run building on it finds it (`RunConfigFile.sourceRun`:
    /// the tokenizer of its `initFrom` public weights, else its WordPiece vocabulary), and its files: (source
    /// path, name in the export).
    static func runTokenizer(checkpoint: String) throws -> (any TextTokenizer, [(String, String)]) {
        let run: SourceRun
        do { run = try RunConfigFile.sourceRun(checkpoint) } catch {
            throw InteropError(file: checkpoint, "the export copies the tokenizer the run read its reports with: \(error)")
        }
        guard let tokenizer = run.tokenizer, let path = run.vocabularyPath else {
            throw InteropError(file: checkpoint, "the run's vocabulary is missing (neither its data.vocabulary nor vocab.txt in its run directory); "
                               + "the export needs the tokenizer it read reports with")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return (tokenizer, [(path, "vocab.txt")])
        }
        return (tokenizer, tokenizerFiles.filter { FileManager.default.fileExists(atPath: path + "/" + $0) }.map { (path + "/" + $0, $0) })
    }

    static func write(_ model: HFExport.Model, tokenizerFiles files: [(String, String)], wordPiece: WordPieceTokenizer?, step: Int, checkpoint: String,
                      to out: String) throws {
        let manager = FileManager.default
        if let existing = try? manager.contentsOfDirectory(atPath: out), !existing.isEmpty {
            throw InteropError(file: out, "exists and is not empty; the export writes a new directory (nothing there is overwritten)")
        }
        if manager.fileExists(atPath: out), (try? manager.contentsOfDirectory(atPath: out)) == nil {
            throw InteropError(file: out, "exists and is not a directory")
        }
        let staging = out.hasSuffix("/") ? String(out.dropLast()) + ".partial-\(getpid())" : out + ".partial-\(getpid())"
        try? manager.removeItem(atPath: staging)
        do {
            try manager.createDirectory(atPath: staging, withIntermediateDirectories: true)
            var config = model.config
            config["carina_checkpoint"] = (checkpoint as NSString).lastPathComponent
            config["carina_step"] = step
            let json = try JSONSerialization.data(withJSONObject: exactNumbers(config), options: [.prettyPrinted, .sortedKeys])
            try json.write(to: URL(fileURLWithPath: staging + "/config.json"))
            try SafeTensors.write(model.tensors, metadata: ["format": "pt", "carina_step": String(step)], to: staging + "/model.safetensors")
            for (source, name) in files { try manager.copyItem(atPath: source, toPath: staging + "/" + name) }
            if wordPiece != nil, !files.contains(where: { $0.1 == "tokenizer_config.json" }) {
                // Carina's own WordPiece: lower-cased, BERT's special tokens.
                try #"{"tokenizer_class": "BertTokenizer", "do_lower_case": true}"#.write(toFile: staging + "/tokenizer_config.json", atomically: true, encoding: .utf8)
            }
            if manager.fileExists(atPath: out) { try manager.removeItem(atPath: out) }  // an empty directory
            try manager.moveItem(atPath: staging, toPath: out)
        } catch {
            try? manager.removeItem(atPath: staging)
            if let error = error as? InteropError { throw error }
            throw InteropError(file: out, "cannot write the export: \(error)")
        }
    }

    /// Floats as the shortest decimal that reads back to the same Float (1e-05, not 9.99999974737875e-06).
    static func exactNumbers(_ value: Any) -> Any {
        switch value {
        case let object as [String: Any]: return object.mapValues(exactNumbers)
        case let double as Double where double != double.rounded() || abs(double) < 1: return Double("\(Float(double))") ?? double
        default: return value
        }
    }
}
