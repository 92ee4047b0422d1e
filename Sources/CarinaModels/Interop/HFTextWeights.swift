// The name map from Hugging Face BertModel / RobertaModel weights to Carina's `TextEncoder` (docs/interop.md has
// the table). HF keeps query, key and value as three Linear layers; Carina's self-attention has one fused
// `qkv` (rows q, then k, then v), so those three are concatenated.
// Not for: the conversion rules (HFWeights), reading files (SafeTensors, HFTextModel) or copying into a model
// (CarinaTrain's WeightLoader).
import CarinaNN

public enum HFTextWeights {
    public typealias Mapped = HFWeights.Mapped
    public typealias Conversion = HFWeights.Conversion

    /// The prefixes under which HF stores a bare encoder: none (BertModel, sentence-transformers), `bert.` /
    /// `roberta.` (BertForMaskedLM and the other task models), `model.`.
    public static let prefixes = ["", "bert.", "roberta.", "model."]

    /// The HF names (after the prefix) each Carina name of a `layers`-block encoder is made of, in Carina's
    /// parameter order; several names are concatenated along the first axis.
    public static func nameMap(layers: Int, pooler: Bool) -> [(carina: String, hf: [String])] {
        var map: [(String, [String])] = [
            ("tokenEmbedding.weight", ["embeddings.word_embeddings.weight"]),
            ("positionEmbedding", ["embeddings.position_embeddings.weight"]),
            ("tokenTypeEmbedding", ["embeddings.token_type_embeddings.weight"]),
            ("embeddingNorm.weight", ["embeddings.LayerNorm.weight"]),
            ("embeddingNorm.bias", ["embeddings.LayerNorm.bias"]),
        ]
        for i in 0..<layers {
            let (c, h) = ("encoder.blocks.\(i).", "encoder.layer.\(i).")
            for part in ["weight", "bias"] {
                map.append((c + "attn.qkv." + part, ["query", "key", "value"].map { h + "attention.self.\($0)." + part }))
            }
            for (carina, hf) in [("attn.proj", "attention.output.dense"), ("norm1", "attention.output.LayerNorm"),
                                 ("mlp.fc1", "intermediate.dense"), ("mlp.fc2", "output.dense"), ("norm2", "output.LayerNorm")] {
                for part in ["weight", "bias"] { map.append((c + carina + "." + part, [h + hf + "." + part])) }
            }
        }
        if pooler {
            for part in ["weight", "bias"] { map.append(("pooler." + part, ["pooler.dense." + part])) }
        }
        return map
    }

    /// Converts the tensors of `file` (and the names of its non-float tensors, `skipped`) into Carina's names.
    /// Old BERT checkpoints' `LayerNorm.gamma` / `.beta` are read as `.weight` / `.bias`, as transformers does.
    /// Parts of one fused tensor must agree in shape (an error names the file and the tensor).
    public static func convert(_ stored: [(name: String, tensor: Tensor)], skipped: [String] = [], file: String,
                               layers: Int, pooler: Bool) throws -> Conversion {
        func canonical(_ name: String) -> String {
            if name.hasSuffix("LayerNorm.gamma") { return String(name.dropLast(5)) + "weight" }
            if name.hasSuffix("LayerNorm.beta") { return String(name.dropLast(4)) + "bias" }
            return name
        }
        let names = Set(stored.map { canonical($0.name) })
        guard let prefix = prefixes.first(where: { names.contains($0 + "embeddings.word_embeddings.weight") }) else {
            throw InteropError(file: file, "no tensor embeddings.word_embeddings.weight (nor with a prefix \(prefixes.dropFirst().joined(separator: ", "))): "
                               + "not a BERT or RoBERTa checkpoint")
        }
        return try HFWeights.convert(stored, skipped: skipped, file: file, prefix: prefix,
                                     entries: nameMap(layers: layers, pooler: pooler).map { HFWeights.Entry($0.carina, $0.hf) }, canonical: canonical)
    }
}
