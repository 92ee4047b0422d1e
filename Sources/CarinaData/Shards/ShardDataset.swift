// A prepared dataset read back by sample index: dataset.json, the per-shard indexes, and one pread per
// sample that fetches its three tar members, checks their headers and decodes them. Safe to read from many
// threads at once. Not for: writing (ShardWriter), batching or augmentation (the loader).

import CarinaTensor
import Foundation

public final class ShardDataset: Sendable {
    public let directory: String
    public let manifest: DatasetManifest
    /// Sample keys in dataset order (shard order, then order within the shard).
    public let keys: [String]
    private let entries: [ShardIndexEntry]
    private let shardOf: [Int32]
    private let files: [ShardFile]
    private let positions: [String: Int]

    /// The most pixels (width x height) an image may have; larger ones are refused from their header.
    public let maxImagePixels: Int

    /// Opens a prepared dataset. Throws if dataset.json or an index is missing or damaged, if a shard's
    /// size differs from the one dataset.json records (truncated or rewritten since), if dataset.json names
    /// a shard outside `directory` (absolute, '..', or a symbolic link leading out) or a shard that is not a
    /// regular file, if its counts do not fit the shards, or if a split holds an index out of range, twice,
    /// or also in another split. Nothing is allocated from a count before it is checked.
    public init(directory: String, maxImagePixels: Int = Image.defaultMaxPixels) throws {
        let manifest = try DatasetManifest.read(directory: directory)
        try manifest.checkCounts(directory: directory)
        var entries = [ShardIndexEntry](), shardOf = [Int32](), files = [ShardFile]()
        for (number, shard) in manifest.shards.enumerated() {
            let path = try DatasetManifest.shardPath(shard.file, number: number, in: directory)
            let file = try ShardFile(path: path)
            guard file.size == shard.bytes else {
                throw DataError.badShard(file: path, member: nil,
                                         problem: "is \(file.size) bytes but dataset.json records \(shard.bytes) (truncated or changed after prepare)")
            }
            let indexPath = directory + "/" + ShardWriter.indexFileName(shard.file)
            let text: String
            do {
                // A line is at most ~150 bytes (a 95-byte key and four numbers); `samples` is checked
                // against the shard's size, so this bounds the read by the shard's size too.
                let limit = ShardIndex.maxLineBytes * shard.samples + 4096
                text = String(decoding: try FileBytes.contents(of: indexPath, maxBytes: limit), as: UTF8.self)
            } catch {
                throw DataError.badShard(file: indexPath, member: nil, problem: "cannot read the index: \(error)")
            }
            let shardEntries = try ShardIndex.parse(text, file: indexPath)
            guard shardEntries.count == shard.samples else {
                throw DataError.badShard(file: indexPath, member: nil,
                                         problem: "lists \(shardEntries.count) samples, dataset.json says \(shard.samples)")
            }
            for entry in shardEntries where entry.end > file.size {
                throw DataError.badShard(file: path, member: entry.key, problem: "the index places it past the end of the shard")
            }
            entries += shardEntries
            shardOf += [Int32](repeating: Int32(number), count: shardEntries.count)
            files.append(file)
        }
        guard entries.count == manifest.sampleCount else {
            throw DataError.badDataset(path: directory, problem: "the indexes list \(entries.count) samples, dataset.json says \(manifest.sampleCount)")
        }
        try manifest.checkSplits(directory: directory)
        var positions = [String: Int](minimumCapacity: entries.count)
        for (i, entry) in entries.enumerated() {
            guard positions.updateValue(i, forKey: entry.key) == nil else {
                throw DataError.badDataset(path: directory, problem: "key '\(entry.key)' appears twice in the indexes")
            }
        }
        self.directory = directory
        self.manifest = manifest
        self.entries = entries
        self.shardOf = shardOf
        self.files = files
        self.keys = entries.map(\.key)
        self.positions = positions
        self.maxImagePixels = maxImagePixels
    }

    public var count: Int { entries.count }
    public var classNames: [String] { manifest.classNames }

    /// Sample indices of "train", "valid" or "test" (empty for any other name), ascending.
    public func indices(split: String) -> [Int] { manifest.splits[split] ?? [] }

    /// The index of the sample with this key.
    public func index(ofKey key: String) -> Int? { positions[key] }

    /// Reads sample `index`: one read of its three members, each header checked (checksum, name, size).
    public func sample(at index: Int) throws -> Sample {
        let (entry, file) = try located(index)
        let bytes = try file.read(at: entry.offset, count: entry.end - entry.offset)
        let members = try bytes.withUnsafeBytes { raw in
            try [("png", entry.pngHeader, entry.pngSize), ("txt", entry.txtHeader, entry.txtSize),
                 ("json", entry.jsonHeader, entry.jsonSize)].map { ext, header, size in
                try member(raw, at: entry.offset, file: file, entry: entry, name: entry.key + "." + ext, header: header, size: size)
            }
        }
        let image = try Image.decode(data: members[0], source: "\(file.path) member \(entry.key).png", maxPixels: maxImagePixels)
        guard let report = String(validating: members[1], as: UTF8.self) else {
            throw DataError.badShard(file: file.path, member: entry.key + ".txt", problem: "the report is not valid UTF-8")
        }
        let json = try decodeJSON(members[2], file: file, entry: entry)
        return Sample(key: entry.key, image: image, report: report, labels: json.labels, patientID: json.patientID,
                      metadata: json.metadata)
    }

    /// Sample `index`'s labels, patient and metadata from its JSON member alone (header checked; the image
    /// and report are not read).
    public func info(at index: Int) throws -> SampleInfo {
        let (entry, file) = try located(index)
        let bytes = try file.read(at: entry.jsonHeader, count: entry.end - entry.jsonHeader)
        let data = try bytes.withUnsafeBytes { raw in
            try member(raw, at: entry.jsonHeader, file: file, entry: entry, name: entry.key + ".json", header: entry.jsonHeader, size: entry.jsonSize)
        }
        let json = try decodeJSON(data, file: file, entry: entry)
        return SampleInfo(labels: json.labels, patientID: json.patientID, metadata: json.metadata)
    }

    /// Sample `index`'s index entry and shard, or an error naming the dataset when it is out of range.
    private func located(_ index: Int) throws -> (ShardIndexEntry, ShardFile) {
        guard index >= 0 && index < entries.count else {
            throw DataError.badDataset(path: directory, problem: "sample index \(index) is outside 0..<\(entries.count)")
        }
        return (entries[index], files[Int(shardOf[index])])
    }

    private func decodeJSON(_ data: [UInt8], file: ShardFile, entry: ShardIndexEntry) throws -> SampleJSON {
        do {
            return try SampleJSON.decode(data)
        } catch {
            throw DataError.badShard(file: file.path, member: entry.key + ".json", problem: "not a valid sample JSON object: \(error)")
        }
    }

    /// Checks one member's header inside `raw`, bytes read from file offset `base`, and returns its data.
    private func member(_ raw: UnsafeRawBufferPointer, at base: Int, file: ShardFile, entry: ShardIndexEntry, name: String,
                        header: Int, size: Int) throws -> [UInt8] {
        let start = header - base
        guard start + TarHeader.blockSize <= raw.count else {
            throw DataError.badShard(file: file.path, member: name, problem: "header truncated (the shard ends at byte \(file.size))")
        }
        let parsed = try TarHeader.parse(UnsafeRawBufferPointer(rebasing: raw[start..<(start + TarHeader.blockSize)]),
                                         shard: file.path, offset: header)
        guard parsed.name == name, parsed.size == size else {
            throw DataError.badShard(file: file.path, member: name,
                                     problem: "the tar header at byte \(header) holds \(parsed.name) (\(parsed.size) bytes), the index expects \(name) (\(size) bytes)")
        }
        let dataStart = start + TarHeader.blockSize
        guard dataStart + size <= raw.count else {
            throw DataError.badShard(file: file.path, member: name,
                                     problem: "data truncated: \(size) bytes expected, \(max(0, raw.count - dataStart)) present")
        }
        return Array(raw[dataStart..<(dataStart + size)])
    }

    /// Reads every shard front to back: every tar header checks, members match the index in order, and the
    /// bytes hash to dataset.json's content hash. Throws naming the shard and member at the first problem.
    public func verify() throws {
        var hash = FNV1a64()
        var next = 0
        for (file, shard) in zip(files, manifest.shards) {
            let members = try TarReader.members(of: file)
            guard members.count == 3 * shard.samples else {
                throw DataError.badShard(file: file.path, member: nil,
                                         problem: "holds \(members.count) members, expected 3 for each of \(shard.samples) samples")
            }
            for triple in stride(from: 0, to: members.count, by: 3) {
                guard next < entries.count else {
                    throw DataError.badShard(file: file.path, member: members[triple].name, problem: "not in the index")
                }
                let entry = entries[next]
                let expected = [(entry.key + ".png", entry.pngHeader, entry.pngSize), (entry.key + ".txt", entry.txtHeader, entry.txtSize),
                                (entry.key + ".json", entry.jsonHeader, entry.jsonSize)]
                for (k, (name, offset, size)) in expected.enumerated() {
                    guard triple + k < members.count, members[triple + k].name == name, members[triple + k].headerOffset == offset,
                          members[triple + k].size == size else {
                        throw DataError.badShard(file: file.path, member: name, problem: "the tar does not match the index here")
                    }
                }
                next += 1
            }
            var offset = 0
            while offset < file.size {
                let chunk = try file.read(at: offset, count: min(1 << 22, file.size - offset))
                hash.update(chunk)
                offset += chunk.count
            }
        }
        guard hash.text == manifest.contentHash else {
            throw DataError.badDataset(path: directory, problem: "shard bytes hash to \(hash.text), dataset.json records \(manifest.contentHash)")
        }
    }
}
