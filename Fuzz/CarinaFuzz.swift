// libFuzzer harnesses for every reader of untrusted input: checkpoints, safetensors, shards with their index
// and dataset.json, PNG and JPEG decoding, CSV and JSON-lines manifests, YAML configs, the WordPiece
// tokenizer and the byte-level BPE tokenizer's files (vocab.json, merges.txt, tokenizer_config.json). Each
// turns the fuzzer's bytes into the file the reader expects and calls it: a thrown error is
// the right answer, a crash, a hang, a leak of the input's size into an allocation (libFuzzer's malloc
// limit) is a bug. Built only by launch/fuzz.sh (CARINA_FUZZ=1, -sanitize=fuzzer,address); `seeds DIR`
// writes the seed corpora from Carina's own writers. Not for: the normal build or the test suite (every crash
// found becomes a regression test there).
import CarinaCheckpoint
import CarinaData
import CarinaTensor
import CarinaTrain
import Foundation

typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// libFuzzer's entry point for a program that has its own main (the sanitizer runtime provides it).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: FuzzCallback) -> CInt

/// Separates the files of a multi-file input (a shard dataset, a vocabulary and a text).
let partSeparator = Array("\u{0}CARINA-FUZZ-PART\u{0}".utf8)

/// A scratch folder per process, in memory where the machine has /dev/shm.
let scratch: String = {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let dir = base + "/carina-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}()

func write(_ bytes: some Collection<UInt8>, _ name: String) -> String {
    let path = scratch + "/" + name
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
}

/// `bytes` cut at every separator (at most `count` parts; the last takes the rest).
func parts(_ bytes: [UInt8], count: Int) -> [[UInt8]] {
    var out: [[UInt8]] = [], start = 0, i = 0
    while i + partSeparator.count <= bytes.count && out.count < count - 1 {
        if bytes[i] == 0 && Array(bytes[i..<(i + partSeparator.count)]) == partSeparator {
            out.append(Array(bytes[start..<i]))
            i += partSeparator.count
            start = i
        } else {
            i += 1
        }
    }
    out.append(Array(bytes[start...]))
    while out.count < count { out.append([]) }
    return out
}

struct Harness: Sendable {
    let name: String
    let run: @Sendable ([UInt8]) -> Void
    let seeds: @Sendable () throws -> [[UInt8]]
}

let shardName = ShardWriter.shardFileName(0)
let indexName = String(shardName.dropLast(4)) + ".idx"

let harnesses: [Harness] = [
    Harness(name: "checkpoint", run: { bytes in
        let path = write(bytes, "fuzz.ckpt")
        _ = try? CheckpointFile.summary(path)
        _ = try? CheckpointFile.verify(path, threads: 1)
        _ = try? CheckpointFile.read(path, threads: 1)
    }, seeds: {
        var rng = RNG(seed: 1, "fuzz-seeds")
        let contents = CheckpointContents(model: [("w", Tensor.normal([3, 4], rng: &rng)), ("b", Tensor.zeros([0, 2])), ("s", Tensor(Float(2)))],
                                          optimizer: [("exp_avg.w", Tensor.normal([3, 4], rng: &rng))],
                                          state: RunState(step: 3, epoch: 0, samplesConsumed: 12, seed: 1, worldSize: 1, optimizerStep: 3, config: "method: clip\n"))
        return try [true, false].map { shuffle in
            let path = scratch + "/seed.ckpt"
            try CheckpointFile.write(contents, to: path, shuffle: shuffle, chunkBytes: 16)
            return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        }
    }),
    Harness(name: "safetensors", run: { bytes in
        _ = try? SafeTensors.readWithMetadata(write(bytes, "fuzz.safetensors"))
    }, seeds: {
        let path = scratch + "/seed.safetensors"
        try SafeTensors.write([("a", Tensor.zeros([2, 3])), ("b", Tensor(Float(1)))], metadata: ["format": "pt"], to: path)
        // Public weights' dtypes: F16 and BF16 (widened) and an I64 buffer (listed, not read).
        var header = Array(#"{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]},"i":{"dtype":"I64","shape":[1],"data_offsets":[6,14]}}"#.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        let mixed = (0..<8).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) } + header + [0, 0x3c, 0, 0xc1, 0x80, 0x3f] + [UInt8](repeating: 0, count: 8)
        return [[UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), mixed]
    }),
    Harness(name: "shard", run: { bytes in
        // dataset.json, the shard's tar and its index, separated; every sample read.
        let dir = scratch + "/dataset"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let files = parts(bytes, count: 3)
        for (name, content) in zip([DatasetManifest.fileName, shardName, indexName], files) {
            FileManager.default.createFile(atPath: dir + "/" + name, contents: Data(content))
        }
        guard let dataset = try? ShardDataset(directory: dir, maxImagePixels: 1 << 20) else { return }
        for i in 0..<min(dataset.count, 16) { _ = try? dataset.sample(at: i) }
        _ = try? dataset.verify()
    }, seeds: {
        let dir = scratch + "/seed-dataset"
        try? FileManager.default.removeItem(atPath: dir)
        let writer = try ShardWriter(directory: dir, imageSize: nil, name: "fuzz")
        let source = SyntheticCXR(count: 2, seed: 3, imageSize: 16)
        for i in 0..<2 { try writer.write(try source.sample(at: i)) }
        _ = try writer.finish()
        let files = try [DatasetManifest.fileName, shardName, indexName].map { [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/" + $0))) }
        return [files[0] + partSeparator + files[1] + partSeparator + files[2]]
    }),
    Harness(name: "png", run: { bytes in
        _ = try? Image.decode(data: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + bytes, source: "fuzz.png", maxPixels: 1 << 22)
    }, seeds: {
        try imageSeeds().map { Array(try $0.encodePNG().dropFirst(8)) }
    }),
    Harness(name: "jpeg", run: { bytes in
        _ = try? Image.decode(data: [0xFF, 0xD8] + bytes, source: "fuzz.jpg", maxPixels: 1 << 22)
    }, seeds: {
        try imageSeeds().filter { $0.bitDepth == 8 }.map { Array(try $0.encodeJPEG(quality: 80).dropFirst(2)) }
    }),
    Harness(name: "csv", run: { bytes in
        readManifest(write(bytes, "manifest.csv"), .csv)
    }, seeds: {
        [Array("image,report,labels,patient_id,split\na.png,\"Heart size normal.\nNo effusion.\",Effusion|Edema,p1,train\nb.png,Clear lungs.,,p2,test\n".utf8),
         Array("image,text,Effusion,Edema\nx/a.png,\"quoted \"\"text\"\"\",1,-1\n".utf8)]
    }),
    Harness(name: "jsonl", run: { bytes in
        readManifest(write(bytes, "manifest.jsonl"), .jsonl)
    }, seeds: {
        [Array("{\"image\": \"a.png\", \"report\": \"No effusion.\", \"labels\": [\"Edema\"], \"split\": \"train\"}\n{\"image\": \"b.png\", \"text\": \"x\", \"labels\": {\"Edema\": 1, \"Effusion\": -1}}\n".utf8)]
    }),
    Harness(name: "yaml", run: { bytes in
        guard let text = String(validating: bytes, as: UTF8.self), let file = try? RunConfigFile(yaml: text, source: "fuzz.yaml") else { return }
        _ = try? file.buildMethod(classNames: ["Edema", "Effusion"], vocabularySize: 50)
    }, seeds: {
        [Array("method: clip\nseed: 3\nmodel:\n  visionWidth: 32\n  visionHeads: 2\n  visionLayers: 1\n  patchSize: 8\ndata:\n  imageSize: 32\ntrain:\n  globalBatch: 4\n  lr: 0.001\n  steps: 2\n".utf8),
         Array("method: pspg\nmodel: {promptLength: 4, clip: {textLayers: 1}}\ntrain: {stages: [{name: a, steps: 1}]}\n".utf8)]
    }),
    Harness(name: "wordpiece", run: { bytes in
        let files = parts(bytes, count: 2)
        guard let tokenizer = try? WordPieceTokenizer(vocabularyFile: write(files[0], "vocab.txt")) else { return }
        let text = String(decoding: files[1], as: UTF8.self)
        let encoded = tokenizer.encode(text, contextLength: 32)
        _ = tokenizer.decode(encoded.ids)
    }, seeds: {
        [Array("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nheart\nsize\nnormal\n##ly\nno\neff\n##usion\n.\n".utf8) + partSeparator
            + Array("Heart size normally normal. No effusion! Ünïcode 心 \u{0301}".utf8)]
    }),
    Harness(name: "bpe", run: { bytes in
        // vocab.json, merges.txt, tokenizer_config.json and a text: the directory's tokenizer, and the merges
        // read as open_clip's bpe file (a CLIP vocabulary made from them), each encoding the text.
        let dir = scratch + "/tokenizer"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let files = parts(bytes, count: 4)
        for (name, content) in zip(["vocab.json", "merges.txt", "tokenizer_config.json"], files) {
            FileManager.default.createFile(atPath: dir + "/" + name, contents: Data(content))
        }
        let text = String(decoding: files[3], as: UTF8.self)
        if let tokenizer = try? TokenizerFiles.load(directory: dir) {
            _ = tokenizer.encode(text, contextLength: 32)
        }
        if let clip = try? ByteLevelBPETokenizer(clipBPEFile: dir + "/merges.txt") {
            _ = clip.decode(clip.encode(text, contextLength: 77).ids)
        }
    }, seeds: {
        let merges = [("l", "u"), ("lu", "n"), ("lun", "g"), ("Ġ", "lung"), ("e", "ff")]
        let vocabulary = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"] + ByteLevelBPETokenizer.byteSymbols + merges.map { $0.0 + $0.1 }
        let json = try JSONSerialization.data(withJSONObject: Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($0.element, $0.offset) }),
                                              options: [.sortedKeys])
        let mergeLines = "#version: 0.2\n" + merges.map { "\($0.0) \($0.1)\n" }.joined()
        let text = Array("Left lung: small effusion &amp; 12.5 cm; it's “unchanged” — ﬁne. 肺".utf8)
        return [[UInt8](json) + partSeparator + Array(mergeLines.utf8) + partSeparator + Array("{\"tokenizer_class\": \"RobertaTokenizerFast\"}".utf8)
                    + partSeparator + text,
                [UInt8](json) + partSeparator + Array(mergeLines.utf8) + partSeparator + Array("{\"do_lower_case\": false, \"mask_token\": {\"content\": \"<mask>\"}}".utf8)
                    + partSeparator + text]
    }),
]

/// Small images of each kind Carina reads: 8-bit gray, 16-bit gray, 8-bit RGB.
func imageSeeds() throws -> [Image] {
    let gray = (0..<64).map { UInt8($0 * 4) }
    return [try Image(width: 8, height: 8, channels: 1, pixels: .uint8(gray)),
            try Image(width: 4, height: 2, channels: 1, pixels: .uint16((0..<8).map { UInt16($0 * 8000) })),
            try Image(width: 4, height: 4, channels: 3, pixels: .uint8((0..<48).map { UInt8($0 * 5) }))]
}

func readManifest(_ path: String, _ format: ManifestImporter.Format) {
    guard let records = try? ManifestImporter(manifest: path, format: format).records() else { return }
    for case let .success(record) in records { _ = try? record.checkInside(root: scratch) }
}

@main struct CarinaFuzz {
    static func main() {
        let arguments = CommandLine.arguments
        func usage() -> Never {
            FileHandle.standardError.write(Data("usage: CarinaFuzz TARGET [libFuzzer options and corpus folders]\n       CarinaFuzz seeds DIR\ntargets: \(harnesses.map(\.name).joined(separator: " "))\n".utf8))
            exit(2)
        }
        guard arguments.count >= 2 else { usage() }
        if arguments[1] == "seeds" {
            guard arguments.count == 3 else { usage() }
            do {
                for harness in harnesses {
                    let dir = arguments[2] + "/" + harness.name
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                    for (i, seed) in try harness.seeds().enumerated() {
                        FileManager.default.createFile(atPath: dir + "/seed-\(i)", contents: Data(seed))
                    }
                }
            } catch {
                FileHandle.standardError.write(Data("CarinaFuzz seeds: \(error)\n".utf8))
                exit(1)
            }
            exit(0)
        }
        guard let harness = harnesses.first(where: { $0.name == arguments[1] }) else { usage() }
        selected = harness.run
        // libFuzzer sees the program name and its own options only.
        var argc = CommandLine.argc - 1
        let argv = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: Int(argc) + 1)
        argv[0] = CommandLine.unsafeArgv[0]
        for i in 1..<Int(argc) { argv[i] = CommandLine.unsafeArgv[i + 1] }
        argv[Int(argc)] = nil
        var argvPointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
        exit(LLVMFuzzerRunDriver(&argc, &argvPointer) { data, count in
            selected?(data.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? [])
            return 0
        })
    }
}

nonisolated(unsafe) var selected: (@Sendable ([UInt8]) -> Void)?
