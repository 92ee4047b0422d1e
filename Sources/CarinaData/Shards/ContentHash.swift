// The content hash recorded in dataset.json: 64-bit FNV-1a over the bytes of every shard file, in shard
// order. Foundation on Linux has no SHA-256; this detects changed or damaged shards, it is not a security hash.
// Not for: checkpoint checksums (CarinaCheckpoint has its own).

/// 64-bit FNV-1a (offset basis 0xcbf29ce484222325, prime 0x100000001b3), fed incrementally.
public struct FNV1a64: Sendable, Equatable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var h = value
        for byte in bytes {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01b3
        }
        value = h
    }

    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    public mutating func update(_ text: String) { update(Array(text.utf8)) }

    /// The hash of one string (split assignment keys its draws by this).
    public static func hash(_ text: String) -> UInt64 {
        var h = FNV1a64()
        h.update(text)
        return h.value
    }

    /// "fnv1a64:" and 16 lowercase hex digits, as dataset.json stores it.
    public var text: String {
        let hex = String(value, radix: 16)
        return "fnv1a64:" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}
