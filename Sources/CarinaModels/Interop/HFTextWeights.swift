// The name map from Hugging Face BertModel / RobertaModel weights to Carina's `TextEncoder` (docs/interop.md has
// the table). HF keeps query, key and value as three Linear layers; Carina's self-attention has one fused
// `qkv` (rows q, then k, then v), so those three are concatenated. Every HF tensor is either used once or
// reported as not used; every Carina tensor the map names is either found or reported as missing.
// Not for: reading files (SafeTensors, HFTextModel) or copying into a model (CarinaTrain's WeightLoader).
import CarinaNN

public enum HFTextWeights {
    /// One Carina tensor made from HF tensors: its name in `TextEncoder`, the HF names it came from (the
    /// checkpoint's own spelling), and the values.
    public struct Mapped {
        public let name: String
        public let sources: [String]
        public let tensor: Tensor
    }

    /// What a conversion found: the tensors, the HF tensors not used (heads such as `cls.predictions.*`,
    /// integer buffers such as `embeddings.position_ids`, layers beyond `layers`), and the HF names of
    /// Carina tensors the file lacks.
    public struct Conversion {
        public var tensors: [Mapped]
        public var unused: [String]
        public var missing: [String]
    }

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
        var byName: [String: (original: String, tensor: Tensor)] = [:]
        for (name, tensor) in stored { byName[canonical(name)] = (name, tensor) }
        guard let prefix = prefixes.first(where: { byName[$0 + "embeddings.word_embeddings.weight"] != nil }) else {
            throw InteropError(file: file, "no tensor embeddings.word_embeddings.weight (nor with a prefix \(prefixes.dropFirst().joined(separator: ", "))): "
                               + "not a BERT or RoBERTa checkpoint")
        }
        var used: Set<String> = []
        var mapped: [Mapped] = []
        var missing: [String] = []
        for (carina, hf) in nameMap(layers: layers, pooler: pooler) {
            let found = hf.map { byName[prefix + $0] }
            let absent = zip(hf, found).filter { $0.1 == nil }.map { prefix + $0.0 }
            guard absent.isEmpty else {
                missing += absent
                continue
            }
            let parts = found.map { $0! }
            for part in parts.dropFirst() where part.tensor.shape != parts[0].tensor.shape {
                throw InteropError(file: file, "tensor '\(part.original)' has shape \(part.tensor.shape) but '\(parts[0].original)' has "
                                   + "\(parts[0].tensor.shape); they are joined into Carina's \(carina) and must agree")
            }
            let tensor = parts.count == 1 ? parts[0].tensor : try Autograd.withoutGrad { try Tensor.concat(parts.map(\.tensor), axis: 0) }
            used.formUnion(parts.map(\.original))
            mapped.append(Mapped(name: carina, sources: parts.map(\.original), tensor: tensor))
        }
        let unused = stored.map(\.name).filter { !used.contains($0) } + skipped
        return Conversion(tensors: mapped, unused: unused.sorted(), missing: missing)
    }
}
