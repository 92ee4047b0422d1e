// What a checkpoint file holds, without its tensor values: every tensor's group, name, shape, dtype and
// sizes, the run state and how the file was written. `carina checkpoint inspect` prints it. Not for: the values (CheckpointFile.read).

public struct CheckpointSummary: Sendable {
    public struct Entry: Sendable, Equatable {
        public let group: String
        public let name: String
        public let shape: [Int]
        public let dtype: String
        /// Bytes of the raw Float32 values.
        public let rawBytes: Int
        /// Bytes of its frames in the file.
        public let storedBytes: Int
        public let frames: Int
        public let byteShuffle: Bool
        /// XXH64 of the raw bytes, 16 hex digits.
        public let checksum: String
    }

    public let path: String
    public let formatVersion: Int
    /// When the file was written (ISO 8601, UTC).
    public let created: String
    public let compressionLevel: Int
    public let chunkBytes: Int
    /// The file's size, header and manifest included.
    public let fileBytes: Int
    public let entries: [Entry]
    public let state: RunState

    public var rawBytes: Int { entries.reduce(0) { $0 + $1.rawBytes } }
    public var storedBytes: Int { entries.reduce(0) { $0 + $1.storedBytes } }
    /// Stored over raw bytes of the tensors (smaller is better; 1 means no gain).
    public var compressionRatio: Double { rawBytes == 0 ? 1 : Double(storedBytes) / Double(rawBytes) }

    init(path: String, manifest: CheckpointManifest, fileBytes: Int) {
        self.path = path
        formatVersion = manifest.formatVersion
        created = manifest.created
        compressionLevel = manifest.level
        chunkBytes = manifest.chunkBytes
        self.fileBytes = fileBytes
        entries = manifest.tensors.map {
            Entry(group: $0.group, name: $0.name, shape: $0.shape, dtype: $0.dtype, rawBytes: $0.rawBytes, storedBytes: $0.storedBytes,
                  frames: $0.frames.count, byteShuffle: $0.byteShuffle, checksum: $0.checksum)
        }
        state = manifest.state
    }
}
