// A report encoder started from a Hugging Face BERT or RoBERTa directory by a method other than CLIP
// (`textInitFrom: hf:DIR`: M3AE, PRIOR): the directory read and checked once, its sizes written into the
// method's `text*` keys (`TextTowerKeys`), and a config that contradicts them refused naming the key.
// Not for: CLIP's `initFrom` (CLIPMethod.huggingFaceDefaults), the names (HFTextWeights).
import CarinaData

public struct ImportedTextEncoder {
    public let model: HFTextModel
    public let tokenizer: any TextTokenizer

    /// Reads `from` (`hf:DIR`) for a method whose tower may be one of `architectures`; its tokenizer must be the
    /// model's kind (and have a mask token when `needsMask`), fit its embeddings, and its positions cover
    /// `contextLength`. Errors name `model.textInitFrom` in `source`.
    public init(_ from: String, architectures: [TextArchitecture], needsMask: Bool, contextLength: Int, source: String, why: String) throws {
        let key = "\(source): model.textInitFrom"
        guard from.hasPrefix(CLIPMethod.huggingFacePrefix) else {
            throw ConfigError("\(key) is '\(from)'; it takes hf:DIR (a Hugging Face \(architectures.map { $0.rawValue.uppercased() }.joined(separator: " or ")) directory)")
        }
        let directory = String(from.dropFirst(CLIPMethod.huggingFacePrefix.count))
        do { model = try HFTextModel(directory: directory) } catch { throw ConfigError("\(key): \(error)") }
        guard architectures.contains(model.architecture) else {
            throw ConfigError("\(key): \(directory) is \(model.architecture.rawValue); \(why)")
        }
        let kind: TokenizerFiles.Kind
        do { (tokenizer, kind) = (try TokenizerFiles.load(directory: directory), try TokenizerFiles.kind(directory: directory)) } catch {
            throw ConfigError("\(key): \(error)")
        }
        let expected: TokenizerFiles.Kind = model.architecture == .bert ? .wordPiece : .roberta
        guard kind == expected, tokenizer.vocabularySize <= model.vocabSize, !needsMask || TokenMasking.supports(tokenizer) else {
            throw ConfigError("\(key): \(directory) needs a \(expected.rawValue) tokenizer\(needsMask ? " with a mask token" : "") that fits its "
                              + "\(model.vocabSize) embeddings (it has \(kind.rawValue), \(tokenizer.vocabularySize) tokens)")
        }
        guard contextLength <= model.maxLength else {
            throw ConfigError("\(source): data.contextLength is \(contextLength) but \(directory) has positions for \(model.maxLength) tokens")
        }
    }

    /// `config`'s text keys set to this model's.
    public func apply<C: TextTowerKeys>(to config: inout C) { model.apply(to: &config) }

    /// Refuses a `config` whose text keys differ from the imported `defaults`, naming the key.
    public static func check<C: TextTowerKeys>(_ config: C, defaults: C, from: String, source: String) throws {
        let keys: [(String, KeyPath<C, Int>)] = [("textWidth", \.textWidth), ("textDepth", \.textDepth), ("textHeads", \.textHeads), ("vocabSize", \.vocabSize)]
        for (key, path) in keys where config[keyPath: path] != defaults[keyPath: path] {
            throw ConfigError("\(source): model.\(key) is \(config[keyPath: path]) but \(from) has \(defaults[keyPath: path]); leave it out")
        }
        guard config.textOptions == defaults.textOptions else {
            throw ConfigError("\(source): model.textArchitecture and the text* keys after it differ from \(from) (its config.json); leave them out")
        }
    }
}
