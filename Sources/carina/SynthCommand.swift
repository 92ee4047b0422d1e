// `carina synth preview`: writes a few phantom radiographs as PNG with their reports, to look at what the
// built-in dataset holds. (Training reads the phantoms on the fly: `data.train: synthetic`.)

import ArgumentParser
import CarinaData
import Foundation

struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "The built-in synthetic dataset: phantom chest radiographs with reports.",
        subcommands: [SynthWriteCommand.self, SynthPreviewCommand.self]
    )
}

struct SynthPreviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "preview", abstract: "Write phantoms as PNG + TXT to look at.")

    @Option(help: "Output directory.") var out: String
    @Option(help: "How many samples.") var count = 8
    @Option(help: "Image size in pixels.") var imageSize = 128
    @Option(help: "Seed.") var seed: UInt64 = 1

    func run() throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let data = SyntheticCXR(count: count, seed: seed, imageSize: imageSize)
        for i in 0..<count {
            let s = try data.sample(at: i)
            let base = (out as NSString).appendingPathComponent(s.key)
            try Data(try s.image.encodePNG()).write(to: URL(fileURLWithPath: base + ".png"))
            let positives = s.labels.filter { $0.value == 1 }.map(\.key).sorted().joined(separator: ", ")
            try (s.report + "\n\nLABELS: " + positives + "\n").write(toFile: base + ".txt", atomically: true, encoding: .utf8)
        }
        print("wrote \(count) phantoms to \(out)")
    }
}

struct SynthWriteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "write", abstract: "Write phantoms as a shard dataset (like `carina prepare`).")

    @Option(help: "Output shard directory.") var out: String
    @Option(help: "How many samples.") var count = 4096
    @Option(help: "Image size in pixels.") var imageSize = 128
    @Option(help: "Seed.") var seed: UInt64 = 1

    func run() throws {
        let data = SyntheticCXR(count: count, seed: seed, imageSize: imageSize)
        let start = Date()
        let writer = try ShardWriter(directory: out, imageSize: nil, name: "synthetic-cxr", classNames: data.classNames)
        for i in 0..<count { try writer.write(data.sample(at: i)) }
        let manifest = try writer.finish()
        let seconds = Date().timeIntervalSince(start)
        print("wrote \(manifest.sampleCount) phantoms to \(out) in \(String(format: "%.1f", seconds)) s (\(Int(Double(count) / seconds)) samples/s)")
    }
}
