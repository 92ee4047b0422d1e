// `carina checkpoint export --format hf`: a CLIP run with OpenAI CLIP's towers becomes a CLIPModel directory, a
// CLIP run's BERT report encoder a BertModel directory. Fixtures/interop/{clip,bert}-export are such exports of
// short runs, which scripts/interop-fixtures.py made with the carina binary and loaded with transformers (no
// missing, unexpected or mismatched tensor): Carina must compute what transformers computed on them. An
// export re-imports bit for bit (the inverse name map), carries the tokenizer the run read its reports with,
// and never writes into an existing directory; runs without a HF equivalent are refused saying why.
// Not for: the import itself (CLIPInteropTests, InteropParityTests).
import CarinaCheckpoint
import CarinaData
@testable import CarinaModels
import CarinaNN
import CarinaTestSupport
@testable import CarinaTrain
import Foundation
import Testing

private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/interop").path

private func reference() throws -> [String: Tensor] {
    Dictionary(uniqueKeysWithValues: try SafeTensors.read(fixtures + "/export-outputs.safetensors").map { ($0.name, $0.tensor) })
}

private func ids(_ t: Tensor) -> IndexTensor { IndexTensor(shape: t.shape, values: t.scalars.map { Int32($0) }) }

/// A CLIP built the way a `model.initFrom: hf:DIR` run builds it from `directory`, with its weights loaded (a
/// BERT directory with its pooler, as the exported run had).
private func imported(_ directory: String, imageSize: Int = 32, contextLength: Int = 20) throws -> CLIPMethod {
    let yaml = """
        method: clip
        model: {initFrom: "hf:\(directory)", textPooler: true, patchSize: 8, visionWidth: 16, visionDepth: 1, visionHeads: 2, embedDim: 8}
        data: {syntheticCount: 8, imageSize: \(imageSize), contextLength: \(contextLength)}
        """
    // A BERT directory sets only the report encoder; a CLIPModel directory every size (the ones above must then be left out).
    let clip = try HFCLIPModel.modelType(directory: directory) == "clip"
    let text = clip ? yaml.replacingOccurrences(of: ", textPooler: true, patchSize: 8, visionWidth: 16, visionDepth: 1, visionHeads: 2, embedDim: 8", with: "") : yaml
    let method = try RunConfigFile(yaml: text, source: "test").buildMethod(classNames: [], vocabularySize: 100).method as! CLIPMethod
    _ = try WeightLoader.load(method.weightSources, into: method.clip)
    return method
}

private func run(_ name: String, in dir: String, model: String, contextLength: Int, steps: Int = 2) throws -> String {
    let config = dir + "/\(name).yaml"
    try """
        method: clip
        seed: 3
        model: {\(model)}
        data: {syntheticCount: 64, imageSize: 32, contextLength: \(contextLength), vocabularySize: 100, workers: 1}
        train: {globalBatch: 8, steps: \(steps), warmupSteps: 0, learningRate: 1.0e-2, checkpointEvery: 0}
        eval: {zeroShot: false, linearProbe: false, retrieval: false, bootstrap: 0, compareUntrained: false}
        """.write(toFile: config, atomically: true, encoding: .utf8)
    try train(config, dir + "/" + name, ranks: 1)
    return dir + "/" + name
}

private func errorText(_ body: () throws -> Void) -> String {
    do { try body(); return "no error" } catch { return "\(error)" }
}

@Suite struct HFExportTests {
    @Test func carinaComputesWhatTransformersComputedOnItsExports() throws {
        let ref = try reference()
        let clip = try imported(fixtures + "/clip-export").clip
        #expect(clip.config.imageChannels == 1 && clip.visual?.patchEmbed.weight.shape == [32, 64], "a grey model exports num_channels 1")
        let pixels = try #require(ref["clip.pixels"]), mask = try #require(ref["clip.attention_mask"])
        let tokens = ids(try #require(ref["clip.input_ids"]))
        let expected = try ["clip.image_embeds", "clip.text_embeds", "clip.logits_per_image"].map { try #require(ref[$0]) }
        let got: [Tensor] = try Autograd.withoutGrad {
            let image = try clip.embedImages(pixels), text = try clip.embedText(tokens, padding: mask)
            return [image, text, try image.matmul(text, transposeOther: true) * clip.logitScale().item]
        }
        for (name, (mine, theirs)) in zip(["image embeddings", "text embeddings", "logits"], zip(got, expected)) {
            #expect(mine.shape == theirs.shape && maxRelativeDifference(mine, theirs) <= 1e-4, "\(name): \(maxRelativeDifference(mine, theirs))")
        }
        // The export's own tokenizer files give transformers' ids.
        let tokenizer = try TokenizerFiles.load(directory: fixtures + "/clip-export")
        let first = tokenizer.encode("No acute cardiopulmonary abnormality.", contextLength: 20)
        let hfIDs = try #require(ref["clip.input_ids"]).scalars.prefix(20).map { Int32($0) }
        #expect(zip(first.ids, hfIDs).enumerated().allSatisfy { first.padding[$0.offset] == 0 || $0.element.0 == $0.element.1 })

        let bert = try imported(fixtures + "/bert-export", contextLength: 12).clip
        let bertMask = try #require(ref["bert.attention_mask"]), bertIDs = ids(try #require(ref["bert.input_ids"]))
        let states: [Tensor] = try Autograd.withoutGrad {
            let hidden = try bert.text(bertIDs, padding: bertMask)
            let (b, t, c) = (hidden.shape[0], hidden.shape[1], hidden.shape[2])
            return [hidden, try bert.text.pooled(hidden.reshaped([b * t, c]).indexSelect(axis: 0, (0..<b).map { $0 * t }))]
        }
        #expect(maxRelativeDifference(states[0], try #require(ref["bert.last_hidden_state"])) <= 1e-4)
        #expect(maxRelativeDifference(states[1], try #require(ref["bert.pooler_output"])) <= 1e-4)
    }

    @Test func anExportReimportsBitForBitWithItsTokenizer() throws {
        let dir = try makeTemporaryDirectory("hf-export")
        let cases: [(name: String, model: String, context: Int, prefix: String)] = [
            ("openai", #"initFrom: "hf:\#(fixtures)/clip-tiny""#, 20, ""),
            // From open_clip: its tokenizer travels too (not the vocab.txt the run also built).
            ("openclip", #"initFrom: "openclip:\#(fixtures)/openclip-vit""#, 20, ""),
            ("bert", #"initFrom: "hf:\#(fixtures)/bert-tiny", textPooler: true, patchSize: 8, visionWidth: 16, visionDepth: 1, visionHeads: 2, embedDim: 8"#, 12, "text."),
            // Trained from scratch with OpenAI CLIP's architecture and Carina's own WordPiece vocabulary.
            ("scratch", "textArchitecture: clip, textActivation: quick_gelu, visionActivation: quick_gelu, patchBias: false, preNorm: true, "
                + "patchSize: 8, visionWidth: 16, visionDepth: 1, visionHeads: 2, textWidth: 16, textDepth: 1, textHeads: 2, embedDim: 8", 16, ""),
        ]
        for c in cases {
            let runDir = try run(c.name, in: dir, model: c.model, contextLength: c.context)
            let out = dir + "/" + c.name + "-hf"
            let line = try HFExporter.export(runDir, to: out)
            #expect(line.hasPrefix("exported \(c.name == "bert" ? "BertModel" : "CLIPModel")"), "\(line)")
            let files = Set(try FileManager.default.contentsOfDirectory(atPath: out))
            #expect(files.isSuperset(of: ["config.json", "model.safetensors", "tokenizer_config.json"]) && !files.contains { $0.contains("partial") }, "\(files)")
            let saved = try finalCheckpoint(runDir).model.filter { $0.name.hasPrefix(c.prefix) }
            let method = try imported(out, contextLength: c.context)
            let back = Dictionary(uniqueKeysWithValues: method.clip.namedState.map { ($0.name, $0.tensor.scalars) })
            for t in saved { #expect(back[t.name] == t.tensor.scalars, "\(c.name): \(t.name) differs after export and import") }
            // The run's tokenizer travels with the export: the same ids for the same report.
            let report = "Mild cardiomegaly with a small right pleural effusion."
            let theirs = try TokenizerFiles.load(directory: out).encode(report, contextLength: c.context)
            let mine = c.name == "scratch" ? try WordPieceTokenizer(vocabularyFile: runDir + "/vocab.txt").encode(report, contextLength: c.context)
                : try TokenizerFiles.load(directory: fixtures + "/\(c.name == "bert" ? "bert" : "clip")-tiny").encode(report, contextLength: c.context)
            #expect(files.contains(c.name == "bert" || c.name == "scratch" ? "vocab.txt" : "merges.txt"), "\(c.name): \(files)")
            #expect(theirs.ids == mine.ids, "\(c.name)")
        }
    }

    @Test func runsWithoutAHuggingFaceEquivalentAndOccupiedTargetsAreRefused() throws {
        let dir = try makeTemporaryDirectory("hf-export-bad")
        let carina = try run("carina", in: dir, model: "patchSize: 8, visionWidth: 16, visionDepth: 1, visionHeads: 2, textWidth: 16, textDepth: 1, textHeads: 2, embedDim: 8",
                             contextLength: 16, steps: 1)
        let own = errorText { _ = try HFExporter.export(carina, to: dir + "/out") }
        #expect(own.contains("textArchitecture: carina") && own.contains("no Hugging Face equivalent") && own.contains("--format safetensors"), "\(own)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/out"))
        let timm = try run("timm", in: dir, model: "textArchitecture: clip, patchSize: 8, visionWidth: 16, visionDepth: 1, visionHeads: 2, textWidth: 16, "
                           + "textDepth: 1, textHeads: 2, embedDim: 8", contextLength: 16, steps: 1)
        let vit = errorText { _ = try HFExporter.export(timm, to: dir + "/out") }
        #expect(vit.contains("a CLIPModel needs OpenAI CLIP's ViT") && vit.contains("patchBias true"), "\(vit)")
        // An existing directory with something in it is left as it is.
        let openai = try run("openai", in: dir, model: #"initFrom: "hf:\#(fixtures)/clip-tiny""#, contextLength: 20, steps: 1)
        try FileManager.default.createDirectory(atPath: dir + "/taken", withIntermediateDirectories: true)
        try "mine".write(toFile: dir + "/taken/notes.txt", atomically: true, encoding: .utf8)
        let taken = errorText { _ = try HFExporter.export(openai, to: dir + "/taken") }
        #expect(taken.contains("\(dir)/taken: exists and is not empty"), "\(taken)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/taken") == ["notes.txt"])
        // An empty directory is fine.
        try FileManager.default.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: true)
        #expect(try HFExporter.export(openai, to: dir + "/empty").contains("exported CLIPModel"))
    }

    @Test func theCommandExportsAndRefusesAsAUserRunsIt() async throws {
        let dir = try makeTemporaryDirectory("hf-export-cli")
        let openai = try run("openai", in: dir, model: #"initFrom: "hf:\#(fixtures)/clip-tiny""#, contextLength: 20, steps: 1)
        let binary = try CarinaBinary.locate()
        let done = try await runSubprocess(binary, ["checkpoint", "export", openai, "--format", "hf", "--out", dir + "/hf"], timeout: .seconds(120))
        #expect(done.status == 0 && done.stdout.hasPrefix("exported CLIPModel (78 tensors"), "\(done.stdout)\(done.stderr)")
        #expect(try HFCLIPModel(directory: dir + "/hf").vision.channels == 1)
        let again = try await runSubprocess(binary, ["checkpoint", "export", openai, "--format", "hf", "--out", dir + "/hf"], timeout: .seconds(120))
        #expect(again.status != 0 && again.stderr.contains("\(dir)/hf: exists and is not empty"), "\(again.stderr)")
    }
}
