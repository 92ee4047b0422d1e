// `carina checkpoint inspect|verify|export|compare PATH`: what a checkpoint holds, whether every checksum matches,
// and its model weights as safetensors for PyTorch users. PATH is a checkpoint file, a `latest` pointer, a
// checkpoint directory or a run directory (their `latest`). Not for: the format itself (CarinaCheckpoint).

import ArgumentParser
import CarinaCheckpoint
import CarinaTensor
import CarinaTrain
import Foundation

struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Inspect, verify or export a checkpoint.",
        subcommands: [CheckpointInspectCommand.self, CheckpointVerifyCommand.self, CheckpointExportCommand.self, CheckpointCompareCommand.self]
    )
}

/// Runs `body`; a checkpoint error is printed as one clear line on stderr and ends the command with exit code 1.
private func reportingFailure<T>(_ command: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as CheckpointError {
        FileHandle.standardError.write(Data("carina checkpoint \(command): \(error)\n".utf8))
        throw ExitCode(1)
    }
}

private func megabytes(_ bytes: Int) -> String { String(format: "%.2f MB", Double(bytes) / 1e6) }

struct CheckpointInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Tensors (shapes, sizes, compression) and the run state; reads the manifest only."
    )

    @Argument(help: "A checkpoint file, a `latest` pointer, or a checkpoint or run directory.")
    var path: String

    @Flag(help: "Also print the resolved config the run used.")
    var config = false

    func run() throws {
        let summary = try reportingFailure("inspect") { try CheckpointFile.summary(try CheckpointStore.resolve(path)) }
        print(Self.describe(summary, withConfig: config))
    }

    static func describe(_ s: CheckpointSummary, withConfig: Bool) -> String {
        let shuffled = s.entries.allSatisfy(\.byteShuffle) ? "byte-shuffled" : s.entries.contains(where: \.byteShuffle) ? "partly byte-shuffled" : "not shuffled"
        var lines = [
            "checkpoint \(s.path)",
            "  format \(s.formatVersion), written \(s.created), zstd level \(s.compressionLevel), \(shuffled), \(s.chunkBytes / 1024) KiB chunks, xxh64 checksums",
            "  \(s.entries.count) tensors: \(megabytes(s.rawBytes)) raw -> \(megabytes(s.storedBytes)) stored "
                + "(\(String(format: "%.1f", 100 * s.compressionRatio))%); file \(megabytes(s.fileBytes))",
        ]
        let st = s.state
        lines.append("run state: step \(st.step), epoch \(st.epoch), samples consumed \(st.samplesConsumed), seed \(st.seed), "
                     + "world size \(st.worldSize), optimizer step \(st.optimizerStep), carina \(st.carinaVersion)")
        if !st.extra.isEmpty {
            lines.append("  extra: " + st.extra.keys.sorted().map { "\($0)=\(st.extra[$0]!)" }.joined(separator: ", "))
        }
        var table = [["group", "name", "shape", "dtype", "raw", "stored", "ratio"]]
        for e in s.entries {
            table.append([e.group, e.name, "(" + e.shape.map(String.init).joined(separator: ", ") + ")", e.dtype, String(e.rawBytes),
                          String(e.storedBytes), e.rawBytes == 0 ? "-" : String(format: "%.3f", Double(e.storedBytes) / Double(e.rawBytes))])
        }
        let widths = (0..<table[0].count).map { c in table.map { $0[c].count }.max()! }
        for row in table {
            lines.append(row.enumerated().map { c, cell in
                c < 2 ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[c] - cell.count) + cell
            }.joined(separator: "  "))
        }
        if withConfig { lines.append("config:\n" + st.config) }
        return lines.joined(separator: "\n")
    }
}

struct CheckpointVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the header, the manifest and every tensor's frames and checksum; exit code 1 on damage."
    )

    @Argument(help: "A checkpoint file, a `latest` pointer, or a checkpoint or run directory.")
    var path: String

    func run() throws {
        _ = try Runtime.start()
        let summary = try reportingFailure("verify") { try CheckpointFile.verify(try CheckpointStore.resolve(path), threads: Parallel.threads) }
        print("checkpoint \(summary.path): ok: \(summary.entries.count) tensors, \(megabytes(summary.rawBytes)) raw, "
              + "every checksum matches (step \(summary.state.step))")
    }
}

struct CheckpointExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the model's weights in another format: safetensors (Carina's dotted names), or hf (a Hugging Face model directory).",
        discussion: """
            --format hf writes a directory transformers loads in one line: a CLIP run with OpenAI CLIP's towers as CLIPModel, \
            a CLIP run's BERT or RoBERTa report encoder as BertModel / RobertaModel (docs/interop.md).
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case safetensors, hf }

    @Argument(help: "A checkpoint file, a `latest` pointer, or a checkpoint or run directory.")
    var path: String

    @Option(help: "Output format.")
    var format: Format = .safetensors

    @Option(help: "The file (safetensors) or the new directory (hf) to write.")
    var out: String

    func run() throws {
        _ = try Runtime.start()
        try reportingFailure("export") {
            if format == .hf {
                print(try HFExporter.export(path, to: out))
                return
            }
            let file = try CheckpointStore.resolve(path)
            let contents = try CheckpointFile.read(file, threads: Parallel.threads, groups: ["model"])
            let metadata = ["format": "pt", "carina_version": contents.state.carinaVersion, "carina_step": String(contents.state.step),
                            "carina_checkpoint": (file as NSString).lastPathComponent]
            try SafeTensors.write(contents.model, metadata: metadata, to: out)
            let bytes = contents.model.reduce(0) { $0 + $1.tensor.count * 4 }
            print("exported \(contents.model.count) model tensors (\(megabytes(bytes))) of step \(contents.state.step) from \(file) to \(out)")
        }
    }
}
