// The report-encoder keys that CLIP's, M3AE's and PRIOR's `model:` sections share (`textArchitecture` and the keys
// after it, as flat YAML keys of each section), and what is computed from them once for all three: the
// encoder's options and their checks. Not for: importing weights into them (ImportedTextEncoder).
import CarinaNN

public protocol TextTowerKeys {
    var vocabSize: Int { get set }
    var contextLength: Int { get set }
    var textWidth: Int { get set }
    var textDepth: Int { get set }
    var textHeads: Int { get set }
    var textArchitecture: TextArchitecture { get set }
    var textPositions: Int { get set }
    var textIntermediate: Int { get set }
    var textNormEps: Float { get set }
    var textTokenTypes: Int { get set }
    var textPaddingIndex: Int { get set }
    var textOptions: TextEncoderOptions { get }
}

extension TextTowerKeys {
    /// The encoder's options from these keys (0 = the architecture's default), with the config's pooler and
    /// activation where it has those keys.
    public func textEncoderOptions(pooler: Bool = false, activation: Activation = .gelu) -> TextEncoderOptions {
        TextEncoderOptions(architecture: textArchitecture, positions: textPositions > 0 ? textPositions : nil,
                           hidden: textIntermediate > 0 ? textIntermediate : nil, eps: textNormEps > 0 ? textNormEps : nil,
                           tokenTypes: textTokenTypes, paddingIndex: textPaddingIndex, pooler: pooler, activation: activation)
    }

    /// Checks these keys (`TextEncoderOptions.validateKeys`), naming them under `path`.
    public func validateTextKeys(source: String, path: String, pooler: Bool = false) throws {
        try TextEncoderOptions.validateKeys(source: source, path: path, contextLength: contextLength, vocabSize: vocabSize, architecture: textArchitecture,
                                            positions: textPositions, intermediate: textIntermediate, eps: textNormEps, tokenTypes: textTokenTypes,
                                            paddingIndex: textPaddingIndex, pooler: pooler)
    }
}

extension CLIPConfig: TextTowerKeys {}
extension M3AEConfig: TextTowerKeys {}
extension PRIORConfig: TextTowerKeys {}
