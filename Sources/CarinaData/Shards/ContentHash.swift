// The content hash recorded in dataset.json: 64-bit FNV-1a over the bytes of every shard file, in shard
// order. Foundation on Linux has no SHA-256; this detects changed or damaged shards, it is not a security hash.
// Not for: checkpoint checksums (CarinaCheckpoint has its own).

import CarinaTensor

extension FNV1a64 {
    /// "fnv1a64:" and 16 lowercase hex digits, as dataset.json stores it.
    public var text: String {
        let hex = String(value, radix: 16)
        return "fnv1a64:" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}
