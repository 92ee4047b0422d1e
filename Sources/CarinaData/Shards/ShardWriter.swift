// Writes samples into WebDataset-style tar shards (KEY.png, KEY.txt, KEY.json), a .idx per shard and,
// last, dataset.json. Images are stored grayscale, resized as asked, as lossless PNG; the same samples
// give byte-identical files. Not for: reading shards (ShardDataset) or reading datasets' own files (importers).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CarinaTensor
import Foundation

/// One sample ready to append: its three members' bytes and what the manifest needs to know of it.
/// Made by `ShardWriter.encode`, which is safe to call from several threads.
public struct EncodedSample: Sendable {
    public let key: String
    let png: [UInt8]
    let txt: [UInt8]
    let json: [UInt8]
    let group: String
    let officialSplit: String?
    let labelNames: [String]
}

public final class ShardWriter {
    public let directory: String
    public let samplesPerShard: Int
    public let imageSize: ImageResize?
    public let name: String
    public let layout: String?
    public let splits: SplitAssigner
    public let pngCompressionLevel: Int
    private let givenClassNames: [String]?

    private var current: AtomicFile?
    private var currentIndex: [ShardIndexEntry] = []
    private var shards: [DatasetManifest.Shard] = []
    private var hash = FNV1a64()
    private var keys = Set<String>()
    private var labelNames = Set<String>()
    private var splitOf: [String] = []  // per sample, in write order
    private var finished = false

    /// Prepares `directory` (created if needed; an old dataset.json there is removed first, so a
    /// half-rewritten directory never looks complete). `classNames`: the label columns in order; labels
    /// outside it are errors. Without it, the sorted union of all samples' label names.
    public init(directory: String, samplesPerShard: Int = 1000, imageSize: ImageResize?, name: String? = nil,
                classNames: [String]? = nil, layout: String? = nil, splits: SplitAssigner = SplitAssigner(),
                pngCompressionLevel: Int = 6) throws {
        guard samplesPerShard > 0 else {
            throw DataError.badDataset(path: directory, problem: "samples per shard must be positive, got \(samplesPerShard)")
        }
        switch imageSize {
        case let .shortSide(n)?, let .square(n)?:
            guard n > 0 else { throw DataError.badDataset(path: directory, problem: "image size must be positive, got \(n)") }
        case nil: break
        }
        if let classNames, Set(classNames).count != classNames.count {
            throw DataError.badDataset(path: directory, problem: "class names repeat: \(classNames)")
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw DataError.badDataset(path: directory, problem: "cannot create the directory: \(error.localizedDescription)")
        }
        let manifestPath = directory + "/" + DatasetManifest.fileName
        if unlink(manifestPath) != 0 && errno != ENOENT {
            throw DataError.badDataset(path: manifestPath, problem: "cannot remove the previous manifest: \(String(cString: strerror(errno)))")
        }
        self.directory = directory
        self.samplesPerShard = samplesPerShard
        self.imageSize = imageSize
        self.name = name ?? URL(fileURLWithPath: directory).lastPathComponent
        self.layout = layout
        self.splits = splits
        self.pngCompressionLevel = pngCompressionLevel
        self.givenClassNames = classNames
    }

    /// "shard-000123.tar"
    public static func shardFileName(_ number: Int) -> String {
        let digits = String(number)
        return "shard-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits + ".tar"
    }

    /// Preprocesses and appends one sample.
    public func write(_ sample: Sample) throws {
        try append(try ShardWriter.encode(sample, imageSize: imageSize, pngCompressionLevel: pngCompressionLevel))
    }

    /// Checks a sample and turns it into shard members: grayscale, resized, PNG; report as UTF-8; labels,
    /// patient and metadata as sorted JSON. Pure, so callers may encode several samples in parallel.
    public static func encode(_ sample: Sample, imageSize: ImageResize?, pngCompressionLevel: Int = 6) throws -> EncodedSample {
        try SampleKey.validate(sample.key)
        for (label, value) in sample.labels where !(value.isFinite && value >= -1 && value <= 1) {
            throw DataError.invalidSample(key: sample.key, problem: "label '\(label)' is \(value); labels are numbers in -1...1")
        }
        var image = sample.image.grayscale()
        if let imageSize { image = try image.resized(imageSize) }
        let png: [UInt8]
        do {
            png = try image.encodePNG(compressionLevel: pngCompressionLevel)
        } catch {
            throw DataError.invalidSample(key: sample.key, problem: "\(error)")
        }
        let json: [UInt8]
        do {
            json = try SampleJSON(sample).encoded()
        } catch {
            throw DataError.invalidSample(key: sample.key, problem: "labels and metadata cannot be written as JSON: \(error)")
        }
        return EncodedSample(key: sample.key, png: png, txt: Array(sample.report.utf8), json: json,
                             group: sample.patientID ?? sample.key,
                             officialSplit: sample.metadata[SplitAssigner.officialSplitKey],
                             labelNames: Array(sample.labels.keys))
    }

    /// Appends an encoded sample to the current shard, starting a new shard when it is full.
    public func append(_ sample: EncodedSample) throws {
        guard !finished else { throw DataError.badDataset(path: directory, problem: "write after finish()") }
        guard !keys.contains(sample.key) else {
            throw DataError.invalidSample(key: sample.key, problem: "the key was already written (keys must be unique)")
        }
        if let given = givenClassNames, let unknown = sample.labelNames.sorted().first(where: { !given.contains($0) }) {
            throw DataError.invalidSample(key: sample.key, problem: "label '\(unknown)' is not one of the dataset's classes \(given)")
        }
        let split = try splits.split(group: sample.group, official: sample.officialSplit)
        if current == nil {
            current = try AtomicFile(path: directory + "/" + ShardWriter.shardFileName(shards.count))
        }
        guard let file = current else { return }
        let entry = ShardIndexEntry(key: sample.key, offset: file.bytesWritten, pngSize: sample.png.count,
                                    txtSize: sample.txt.count, jsonSize: sample.json.count)
        var bytes = [UInt8]()
        bytes.reserveCapacity(entry.end - entry.offset + TarHeader.padding(sample.json.count))
        for (ext, data) in [("png", sample.png), ("txt", sample.txt), ("json", sample.json)] {
            bytes += TarHeader.encode(name: sample.key + "." + ext, size: data.count)
            bytes += data
            bytes += [UInt8](repeating: 0, count: TarHeader.padding(data.count))
        }
        try file.write(bytes)
        hash.update(bytes)
        currentIndex.append(entry)
        keys.insert(sample.key)
        labelNames.formUnion(sample.labelNames)
        splitOf.append(split)
        if currentIndex.count == samplesPerShard { try closeShard() }
    }

    /// Closes the last shard, removes shards of an earlier, larger run in this directory, and writes
    /// dataset.json (last: its presence means the dataset is complete).
    public func finish() throws -> DatasetManifest {
        guard !finished else { throw DataError.badDataset(path: directory, problem: "finish() called twice") }
        if current != nil { try closeShard() }
        finished = true
        removeStaleShards()
        var splitIndices = [String: [Int]]()
        for name in SplitAssigner.names { splitIndices[name] = [] }
        for (i, split) in splitOf.enumerated() { splitIndices[split, default: []].append(i) }
        let manifest = DatasetManifest(
            name: name, layout: layout, sampleCount: splitOf.count,
            classNames: givenClassNames ?? labelNames.sorted(), imageSize: imageSize, shards: shards,
            splits: splitIndices, splitRule: splitRule(), contentHash: hash.text)
        let bytes: [UInt8]
        do {
            bytes = try manifest.encoded()
        } catch {
            throw DataError.badDataset(path: directory, problem: "cannot encode dataset.json: \(error)")
        }
        try AtomicFile.write(bytes, to: directory + "/" + DatasetManifest.fileName)
        return manifest
    }

    private func splitRule() -> String {
        // Official splits exist only where importers recorded them; say which rule decided what.
        "official split where the dataset has one ('\(SplitAssigner.officialSplitKey)' in a sample's metadata; "
            + "'trainval' divided by patient), otherwise \(splits.rule)"
    }

    /// Two zero blocks end the tar; then the tar and its index are committed under their final names.
    private func closeShard() throws {
        guard let file = current else { return }
        let end = [UInt8](repeating: 0, count: 2 * TarHeader.blockSize)
        try file.write(end)
        hash.update(end)
        let size = file.bytesWritten
        try file.commit()
        let tarName = ShardWriter.shardFileName(shards.count)
        let index = currentIndex.map(\.line).joined()
        try AtomicFile.write(Array(index.utf8), to: directory + "/" + ShardWriter.indexFileName(tarName))
        shards.append(DatasetManifest.Shard(file: tarName, samples: currentIndex.count, bytes: size))
        current = nil
        currentIndex = []
    }

    /// "shard-000123.idx" for "shard-000123.tar".
    static func indexFileName(_ tarName: String) -> String { String(tarName.dropLast(4)) + ".idx" }

    /// Deletes shard-NNNNNN.tar/.idx numbered past this run's shards (left by an earlier, larger run).
    private func removeStaleShards() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix("shard-") && (name.hasSuffix(".tar") || name.hasSuffix(".idx")) {
            let digits = name.dropFirst(6).dropLast(4)
            if digits.count == 6, digits.allSatisfy(\.isNumber), let n = Int(digits), n >= shards.count {
                unlink(directory + "/" + name)
            }
        }
    }
}
