// Loads the tokenizer of a model directory as Hugging Face or open_clip lays it out. The whole API:
//
//     let tokenizer = try TokenizerFiles.load(directory: "weights/all-MiniLM-L6-v2")   // any TextTokenizer
//     let (ids, padding) = tokenizer.encode("No pleural effusion.", contextLength: 77)
//     let kind = try TokenizerFiles.kind(directory: dir)                              // .wordPiece, .clip, .roberta
//
// The kind comes from tokenizer_config.json's `tokenizer_class` when it names one (BertTokenizer,
// DistilBertTokenizer, CLIPTokenizer, RobertaTokenizer, with or without "Fast"), else from the files present:
// vocab.txt is BERT WordPiece; vocab.json + merges.txt is CLIP when the vocabulary has <|startoftext|>, else
// RoBERTa; bpe_simple_vocab_16e6.txt.gz (open_clip, OpenAI CLIP) is CLIP. WordPiece takes `do_lower_case`,
// `strip_accents` and `tokenize_chinese_chars` from tokenizer_config.json (HF's defaults when absent: uncased);
// RoBERTa its special tokens' names. A directory with only tokenizer.json is refused with what to do.
// Not for: the tokenisation rules (WordPieceTokenizer, ByteLevelBPETokenizer) or model weights.
import Foundation

public enum TokenizerFiles {
    public enum Kind: String, Sendable {
        case wordPiece, clip, roberta
    }

    /// The largest tokenizer_config.json read: 4 MiB (BERT's is 0.4 kB; chat templates make some large).
    public static let maxConfigBytes = 1 << 22
    /// open_clip's and OpenAI CLIP's name for CLIP's merges.
    public static let clipBPEFileName = "bpe_simple_vocab_16e6.txt.gz"

    /// The tokenizer of `directory`; see the file's header for how its kind and settings are chosen.
    public static func load(directory: String) throws -> any TextTokenizer {
        let config = try Config(directory: directory)
        switch try kind(directory: directory, config: config) {
        case .wordPiece:
            for (key, name) in zip(["pad_token", "unk_token", "cls_token", "sep_token", "mask_token"], WordPieceTokenizer.specialTokens) {
                if let named = config.tokens[key], named != name {
                    throw DataError.badText(source: config.path, problem: "\(key) is \(named.debugDescription); Carina's WordPiece uses \(name)")
                }
            }
            return try WordPieceTokenizer(vocabularyFile: directory + "/vocab.txt", lowercase: config.doLowerCase ?? true,
                                          stripAccents: config.stripAccents, tokenizeChineseChars: config.tokenizeChineseChars ?? true)
        case .clip:
            if !exists(directory, "vocab.json"), exists(directory, clipBPEFileName) {
                return try ByteLevelBPETokenizer(clipBPEFile: directory + "/" + clipBPEFileName)
            }
            var names = BPESpecialTokenNames.clip
            names.start = config.tokens["bos_token"] ?? names.start
            names.end = config.tokens["eos_token"] ?? names.end
            return try ByteLevelBPETokenizer(style: .clip, vocabularyFile: directory + "/vocab.json",
                                             mergesFile: directory + "/merges.txt", specialTokens: names)
        case .roberta:
            var names = BPESpecialTokenNames.roberta
            names.start = config.tokens["cls_token"] ?? config.tokens["bos_token"] ?? names.start
            names.end = config.tokens["sep_token"] ?? config.tokens["eos_token"] ?? names.end
            names.pad = config.tokens["pad_token"] ?? names.pad
            names.unknown = config.tokens["unk_token"] ?? names.unknown
            names.mask = config.tokens["mask_token"] ?? names.mask
            return try ByteLevelBPETokenizer(style: .roberta, vocabularyFile: directory + "/vocab.json",
                                             mergesFile: directory + "/merges.txt", specialTokens: names)
        }
    }

    /// Which tokenizer `directory` holds, or an error saying what was looked for.
    public static func kind(directory: String) throws -> Kind {
        try kind(directory: directory, config: Config(directory: directory))
    }

    static func kind(directory: String, config: Config) throws -> Kind {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.badText(source: directory, problem: "not a directory (a tokenizer is loaded from a model directory)")
        }
        if let name = config.tokenizerClass {
            let base = name.hasSuffix("Fast") ? String(name.dropLast(4)) : name
            let kind: Kind
            switch base {
            case "BertTokenizer", "DistilBertTokenizer": kind = .wordPiece
            case "CLIPTokenizer": kind = .clip
            case "RobertaTokenizer": kind = .roberta
            default:
                throw DataError.badText(source: config.path, problem: "tokenizer_class \(name.debugDescription) is not one Carina reads "
                                        + "(BertTokenizer, DistilBertTokenizer, CLIPTokenizer, RobertaTokenizer, with or without Fast)")
            }
            let needed = kind == .wordPiece ? ["vocab.txt"] : kind == .clip && exists(directory, clipBPEFileName) ? [] : ["vocab.json", "merges.txt"]
            if let missing = needed.first(where: { !exists(directory, $0) }) {
                throw DataError.badText(source: directory, problem: "tokenizer_config.json names \(name) but the directory has no \(missing)"
                                        + (exists(directory, "tokenizer.json") ? Self.onlyTokenizerJSON : ""))
            }
            return kind
        }
        if exists(directory, "vocab.txt") { return .wordPiece }
        if exists(directory, "vocab.json") && exists(directory, "merges.txt") {
            let vocabulary = try ByteLevelBPETokenizer.readVocabularyJSON(directory + "/vocab.json")
            return vocabulary.contains(BPESpecialTokenNames.clip.start) ? .clip : .roberta
        }
        if exists(directory, clipBPEFileName) { return .clip }
        throw DataError.badText(source: directory, problem: "no tokenizer files: expected vocab.txt (BERT), vocab.json and merges.txt "
                                + "(CLIP, RoBERTa) or \(clipBPEFileName) (open_clip)" + (exists(directory, "tokenizer.json") ? Self.onlyTokenizerJSON : ""))
    }

    private static let onlyTokenizerJSON = "; it has only tokenizer.json, which Carina does not read: write the separate files with "
        + "transformers 4's `AutoTokenizer.from_pretrained(dir).save_pretrained(dir)` or copy them from the model's hub page"

    private static func exists(_ directory: String, _ name: String) -> Bool {
        FileManager.default.fileExists(atPath: directory + "/" + name)
    }

    /// What tokenizer_config.json says, where the directory has one.
    struct Config {
        var path: String
        var tokenizerClass: String?
        var doLowerCase: Bool?
        var stripAccents: Bool?
        var tokenizeChineseChars: Bool?
        /// Special tokens by their key ("bos_token", ...), whether written as a string or as {"content": ...}.
        var tokens: [String: String] = [:]

        init(directory: String) throws {
            path = directory + "/tokenizer_config.json"
            guard FileManager.default.fileExists(atPath: path) else { return }
            let bytes: [UInt8]
            do {
                bytes = try FileBytes.contents(of: path, maxBytes: TokenizerFiles.maxConfigBytes)
            } catch {
                throw DataError.badText(source: path, problem: "cannot read the tokenizer config: \(error)")
            }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
                throw DataError.badText(source: path, problem: "not a JSON object")
            }
            func bad(_ key: String, _ expected: String) -> DataError {
                .badText(source: path, problem: "'\(key)' should be \(expected), found \(String(describing: object[key]!).prefix(80))")
            }
            func flag(_ key: String) throws -> Bool? {
                guard let value = object[key], !(value is NSNull) else { return nil }
                guard let flag = value as? Bool else { throw bad(key, "true, false or null") }
                return flag
            }
            if let value = object["tokenizer_class"], !(value is NSNull) {
                guard let name = value as? String else { throw bad("tokenizer_class", "a string") }
                tokenizerClass = name
            }
            doLowerCase = try flag("do_lower_case")
            stripAccents = try flag("strip_accents")
            tokenizeChineseChars = try flag("tokenize_chinese_chars")
            if try flag("do_basic_tokenize") == false {
                throw DataError.badText(source: path, problem: "do_basic_tokenize false (word pieces without BERT's basic tokenisation) is not supported")
            }
            if let neverSplit = object["never_split"], !(neverSplit is NSNull), (neverSplit as? [Any])?.isEmpty != true {
                throw DataError.badText(source: path, problem: "never_split lists words; Carina's WordPiece does not support it")
            }
            for key in ["bos_token", "eos_token", "cls_token", "sep_token", "pad_token", "unk_token", "mask_token"] {
                guard let value = object[key], !(value is NSNull) else { continue }
                if let name = value as? String {
                    tokens[key] = name
                } else if let name = (value as? [String: Any])?["content"] as? String {
                    tokens[key] = name
                } else {
                    throw bad(key, "a token (a string, or an object with \"content\")")
                }
            }
        }
    }
}
