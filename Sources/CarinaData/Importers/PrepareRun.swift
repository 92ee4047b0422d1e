// `carina prepare` without the command line: pulls an importer's records, decodes and encodes them on
// Parallel.threads threads in order, appends them to a ShardWriter, and skips and counts bad samples when
// asked (otherwise stops at the first, naming it). Not for: parsing layouts (importers) or shard bytes.

import CarinaTensor
import Foundation
import Synchronization

public struct PrepareOptions: Sendable {
    public var samplesPerShard = 1000
    public var imageSize: ImageResize?
    /// The dataset's name in dataset.json (default: the output folder's name).
    public var name: String?
    /// Skip, count and report bad samples instead of stopping at the first.
    public var skipBadSamples = false
    /// Stop after this many samples are written.
    public var limit: Int?
    public var splits = SplitAssigner()
    /// How many of the skipped samples' reasons the report keeps.
    public var reasonsKept = 5
    /// Images must lie inside this folder once symbolic links are resolved (`carina prepare` sets its
    /// --root here unless --allow-outside-root); nil reads images wherever the records point.
    public var imageRoot: String?
    /// Images whose header says more pixels (width x height) are refused before they are decoded.
    public var maxImagePixels = Image.defaultMaxPixels

    public init() {}
}

public struct PrepareReport: Sendable {
    public var manifest: DatasetManifest
    public var skipped: Int
    /// The first few reasons samples were skipped (file, row, column, problem).
    public var firstProblems: [String]
    public var seconds: Double
    public var bytes: Int

    public var samplesPerSecond: Double { Double(manifest.sampleCount) / max(seconds, 1e-9) }
}

public enum Prepare {
    /// Imports every record of `importer` into shards under `directory`. `progress` gets a line now and then.
    public static func run(_ importer: some DatasetImporter, into directory: String, options: PrepareOptions,
                           progress: (String) -> Void = { _ in }) throws -> PrepareReport {
        let start = Date()
        if let limit = options.limit, limit <= 0 {
            throw DataError.badDataset(path: directory, problem: "--limit must be positive, got \(limit)")
        }
        let writer = try ShardWriter(directory: directory, samplesPerShard: options.samplesPerShard, imageSize: options.imageSize,
                                     name: options.name, classNames: importer.classNames, layout: importer.layout, splits: options.splits)
        let iterator = try importer.records().makeIterator()
        var written = 0, skipped = 0, problems = [String](), nextReport = 1000
        let chunk = max(8, 8 * Parallel.threads)
        func bad(_ error: Error) throws {
            guard options.skipBadSamples else { throw error }
            skipped += 1
            if problems.count < options.reasonsKept { problems.append("\(error)") }
        }
        loop: while true {
            var batch = [Result<ImportRecord, DataError>]()
            while batch.count < chunk, let next = iterator.next() { batch.append(next) }
            if batch.isEmpty { break }
            // Decode and encode in parallel; results land in their own slots, appended in record order.
            let slots = Mutex<[Result<EncodedSample, Error>?]>(Array(repeating: nil, count: batch.count))
            let imageSize = options.imageSize, imageRoot = options.imageRoot, maxPixels = options.maxImagePixels
            Parallel.forEach(batch.count) { i in
                let encoded: Result<EncodedSample, Error> = Result {
                    let record = try batch[i].get()
                    if let imageRoot { try record.checkInside(root: imageRoot) }
                    return try ShardWriter.encode(try record.load(maxImagePixels: maxPixels), imageSize: imageSize)
                }
                slots.withLock { $0[i] = encoded }
            }
            for slot in slots.withLock({ $0 }) {
                guard let slot else { continue }
                do {
                    try writer.append(try slot.get())
                    written += 1
                } catch {
                    try bad(error)
                }
                if let limit = options.limit, written >= limit { break loop }
            }
            if written >= nextReport {
                let seconds = Date().timeIntervalSince(start)
                progress("prepare: \(written) samples written, \(skipped) skipped, \(Int(Double(written) / max(seconds, 1e-9))) samples/s")
                nextReport += 1000
            }
        }
        guard written > 0 else {
            let reasons = problems.isEmpty ? "the dataset has no records" : "\(skipped) skipped, the first: " + problems.joined(separator: "; ")
            throw DataError.badDataset(path: directory, problem: "no sample could be imported (\(reasons))")
        }
        let manifest = try writer.finish()
        return PrepareReport(manifest: manifest, skipped: skipped, firstProblems: problems,
                             seconds: Date().timeIntervalSince(start), bytes: manifest.shards.reduce(0) { $0 + $1.bytes })
    }
}
