// dataset.json, written last by ShardWriter so that its presence means the dataset is complete: what the
// shards hold (count, classes, splits, image size) and a content hash of their bytes.
// Not for: where each sample lies (the per-shard .idx files) or the samples themselves.

import Foundation

public struct DatasetManifest: Codable, Sendable, Equatable {
    /// Bumped when the shard layout or this file changes incompatibly.
    public static let currentFormatVersion = 1
    public static let fileName = "dataset.json"

    public struct Shard: Codable, Sendable, Equatable {
        /// "shard-000000.tar"; its index is the same name with ".idx".
        public var file: String
        public var samples: Int
        public var bytes: Int
    }

    public var format = "carina-shards"
    public var formatVersion = DatasetManifest.currentFormatVersion
    public var name: String
    /// The importer layout that produced it ("nih-cxr14", "csv", ...), where known.
    public var layout: String?
    public var sampleCount: Int
    /// Label columns in order: a given list, or the sorted union of every sample's label names.
    public var classNames: [String]
    /// How images were resized when written (nil: original size), always converted to grayscale.
    public var imageSize: ImageResize?
    public var shards: [Shard]
    /// "train", "valid", "test" -> sample indices (0..<sampleCount, in shard order).
    public var splits: [String: [Int]]
    /// How the splits were made (official, by patient with which seed and fractions).
    public var splitRule: String
    /// FNV-1a 64 of all shard files' bytes, in shard order ("fnv1a64:...").
    public var contentHash: String

    enum CodingKeys: String, CodingKey {
        case format, formatVersion = "format_version", name, layout, sampleCount = "sample_count"
        case classNames = "class_names", imageSize = "image_size", shards, splits, splitRule = "split_rule"
        case contentHash = "content_hash"
    }

    /// The JSON bytes (sorted keys, so the same dataset gives the same file).
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [10]
    }

    /// Reads `directory/dataset.json`; errors name the file and what is wrong.
    public static func read(directory: String) throws -> DatasetManifest {
        let path = directory + "/" + fileName
        let bytes: [UInt8]
        do {
            bytes = try FileBytes.contents(of: path)
        } catch {
            throw DataError.badDataset(path: path, problem: "cannot read (\(error)); is this a prepared dataset whose 'carina prepare' finished?")
        }
        let manifest: DatasetManifest
        do {
            manifest = try JSONDecoder().decode(DatasetManifest.self, from: Data(bytes))
        } catch {
            throw DataError.badDataset(path: path, problem: "not a valid dataset manifest: \(error)")
        }
        guard manifest.format == "carina-shards" else {
            throw DataError.badDataset(path: path, problem: "format is '\(manifest.format)', expected 'carina-shards'")
        }
        guard manifest.formatVersion <= currentFormatVersion else {
            throw DataError.badDataset(path: path, problem: "format version \(manifest.formatVersion) is newer than this Carina reads (\(currentFormatVersion))")
        }
        return manifest
    }
}
