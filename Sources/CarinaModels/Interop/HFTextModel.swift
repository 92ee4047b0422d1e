// A Hugging Face BERT or RoBERTa model directory as `save_pretrained` writes it: config.json (the sizes),
// model.safetensors (the weights), and the tokenizer files (TokenizerFiles reads those). config.json is read
// as untrusted input (HFConfigJSON): every key Carina depends on checked for type and range, and what Carina
// cannot compute exactly (another activation, relative positions, a decoder) refused naming the key.
// Not for: the weight names (HFTextWeights) or the tokenizer rules (CarinaData).
import CarinaData
import Foundation

/// A problem with public weights: the file, and what is wrong (the tensor where there is one).
public struct InteropError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let detail: String

    public init(file: String, _ detail: String) {
        self.file = file
        self.detail = detail
    }

    public var description: String { "\(file): \(detail)" }
}

public struct HFTextModel: Sendable, Equatable {
    /// The directory, its config.json and its weights file.
    public let directory: String
    public let configPath: String
    public let weightsPath: String
    /// config.json's model_type: bert or roberta.
    public let architecture: TextArchitecture
    public let vocabSize: Int
    public let hiddenSize: Int
    public let layers: Int
    public let heads: Int
    public let intermediateSize: Int
    public let maxPositions: Int
    public let typeVocabSize: Int
    public let layerNormEps: Float
    /// pad_token_id (RoBERTa's position ids start after it).
    public let padTokenID: Int

    /// Reads and checks `directory`'s config.json and finds its weights file.
    public init(directory: String) throws {
        self.directory = directory
        let json = try HFConfigJSON.read(directory: directory)
        configPath = json.path
        let path = configPath
        func integer(_ key: String, _ range: ClosedRange<Int>, default value: Int? = nil) throws -> Int { try json.integer(key, range, default: value) }
        switch try json.string("model_type") {
        case "bert": architecture = .bert
        case "roberta": architecture = .roberta
        case let other:
            throw InteropError(file: path, "model_type is \(other.map { $0.debugDescription } ?? "missing"); Carina imports bert, roberta and clip models")
        }
        _ = try json.activation(default: "gelu", allowed: [.gelu])
        let positionType = try json.string("position_embedding_type") ?? "absolute"
        guard positionType == "absolute" else {
            throw InteropError(file: path, "position_embedding_type is \(positionType.debugDescription); Carina computes \"absolute\" positions only")
        }
        for key in ["is_decoder", "add_cross_attention"] where json.flag(key) {
            throw InteropError(file: path, "\(key) is true; Carina imports bidirectional encoders only")
        }
        vocabSize = try integer("vocab_size", 5...1_000_000)
        hiddenSize = try integer("hidden_size", 1...16384)
        layers = try integer("num_hidden_layers", 0...256)
        heads = try integer("num_attention_heads", 1...hiddenSize)
        guard hiddenSize % heads == 0 else { throw InteropError(file: path, "hidden_size \(hiddenSize) does not split into num_attention_heads \(heads)") }
        intermediateSize = try integer("intermediate_size", 1...262_144)
        maxPositions = try integer("max_position_embeddings", 2...65_536)
        typeVocabSize = try integer("type_vocab_size", 1...1024, default: 2)
        padTokenID = try integer("pad_token_id", 0...(vocabSize - 1), default: architecture == .roberta ? 1 : 0)
        if architecture == .roberta, maxPositions <= padTokenID + 2 {
            throw InteropError(file: path, "max_position_embeddings \(maxPositions) leaves no positions after pad_token_id \(padTokenID)")
        }
        layerNormEps = try json.number("layer_norm_eps", inside: 0...1, default: 1e-12)
        weightsPath = try Self.weightsFile(directory)
    }

    /// model.safetensors, or an error saying what the directory has instead.
    static func weightsFile(_ directory: String) throws -> String {
        let path = directory + "/model.safetensors"
        if FileManager.default.fileExists(atPath: path) { return path }
        if FileManager.default.fileExists(atPath: directory + "/model.safetensors.index.json") {
            throw InteropError(file: directory, "the weights are sharded (model.safetensors.index.json); Carina reads one model.safetensors: "
                               + "re-save with `save_pretrained(dir, max_shard_size=\"100GB\")`")
        }
        if FileManager.default.fileExists(atPath: directory + "/pytorch_model.bin") {
            throw InteropError(file: directory, "only pytorch_model.bin (a pickle, which Carina does not read); write model.safetensors with "
                               + "`AutoModel.from_pretrained(dir).save_pretrained(dir)` (safetensors is transformers' default)")
        }
        throw InteropError(file: directory, "no model.safetensors")
    }

    /// The report encoder options this model needs (CLIPConfig's text keys say the same).
    public var textOptions: TextEncoderOptions {
        TextEncoderOptions(architecture: architecture, positions: maxPositions, hidden: intermediateSize, eps: layerNormEps,
                           tokenTypes: typeVocabSize, paddingIndex: padTokenID)
    }

    /// The longest token sequence its positions cover.
    public var maxLength: Int { architecture == .roberta ? maxPositions - padTokenID - 1 : maxPositions }

    /// `config`'s report encoder set to this model's sizes and architecture (and its vocabulary size).
    public func apply<C: TextTowerKeys>(to config: inout C) {
        config.textArchitecture = architecture
        (config.textWidth, config.textDepth, config.textHeads) = (hiddenSize, layers, heads)
        (config.textIntermediate, config.textPositions, config.textNormEps) = (intermediateSize, maxPositions, layerNormEps)
        (config.textTokenTypes, config.textPaddingIndex, config.vocabSize) = (typeVocabSize, padTokenID, vocabSize)
    }
}
