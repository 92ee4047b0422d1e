// 64-bit FNV-1a, the one non-cryptographic hash Carina uses: random stream ids (RNG), replica checksums
// (DataParallel), dataset content hashes and split keys (CarinaData). Not for: checkpoint checksums
// (XXH64, in CarinaCheckpoint) or anything security-related.

/// 64-bit FNV-1a (offset basis 0xcbf29ce484222325, prime 0x100000001b3), fed incrementally byte by byte.
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

    /// An integer as its 8 little-endian bytes.
    public mutating func update(integer: Int) {
        withUnsafeBytes(of: UInt64(bitPattern: Int64(integer)).littleEndian) { update($0) }
    }

    /// The hash of one string (split assignment keys its draws by this).
    public static func hash(_ text: String) -> UInt64 {
        var h = FNV1a64()
        h.update(text)
        return h.value
    }
}
