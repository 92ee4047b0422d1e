// XXH64 (Yann Collet's xxHash, 64-bit, seed 0 unless given): the checksum of every tensor's raw bytes and
// of the checkpoint manifest. The same function zstd uses for its frame checksums (the low 32 bits), so a
// test can check this implementation against libzstd. Not for: cryptographic integrity (it detects damage, not tampering).

public enum XXH64 {
    @usableFromInline static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    @usableFromInline static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    @usableFromInline static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    @usableFromInline static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    @usableFromInline static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    /// The XXH64 digest of `bytes` (read as little-endian words whatever the machine).
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let n = bytes.count
        guard let base = bytes.baseAddress else { return finish(seed &+ p5, nil, 0, 0) }
        var i = 0
        var h: UInt64
        if n >= 32 {
            var v1 = seed &+ p1 &+ p2, v2 = seed &+ p2, v3 = seed, v4 = seed &- p1
            while i + 32 <= n {
                v1 = round(v1, word(base, i))
                v2 = round(v2, word(base, i + 8))
                v3 = round(v3, word(base, i + 16))
                v4 = round(v4, word(base, i + 24))
                i += 32
            }
            h = converge(v1, v2, v3, v4)
        } else {
            h = seed &+ p5
        }
        return finish(h &+ UInt64(n), base, i, n)
    }

    /// XXH64 over bytes that arrive in pieces (a tensor decoded frame by frame): the digest equals `hash`
    /// of all the pieces joined, whatever the split.
    public struct Streaming {
        private var v1: UInt64, v2: UInt64, v3: UInt64, v4: UInt64
        private let seed: UInt64
        private var total = 0
        /// Bytes not yet consumed, fewer than 32.
        private var pending: [UInt8] = []

        public init(seed: UInt64 = 0) {
            self.seed = seed
            v1 = seed &+ p1 &+ p2
            v2 = seed &+ p2
            v3 = seed
            v4 = seed &- p1
            pending.reserveCapacity(32)
        }

        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
            total += bytes.count
            var i = 0
            if !pending.isEmpty {
                let take = min(32 - pending.count, bytes.count)
                pending += UnsafeRawBufferPointer(start: base, count: take)
                i = take
                guard pending.count == 32 else { return }
                pending.withUnsafeBytes { stripe($0.baseAddress!, 0) }
                pending.removeAll(keepingCapacity: true)
            }
            while i + 32 <= bytes.count {
                stripe(base, i)
                i += 32
            }
            pending += UnsafeRawBufferPointer(start: base + i, count: bytes.count - i)
        }

        public func digest() -> UInt64 {
            var h: UInt64
            if total >= 32 {
                h = converge(v1, v2, v3, v4)
            } else {
                h = seed &+ p5
            }
            return pending.withUnsafeBytes { finish(h &+ UInt64(total), $0.baseAddress, 0, $0.count) }
        }

        @inline(__always)
        private mutating func stripe(_ base: UnsafeRawPointer, _ i: Int) {
            v1 = round(v1, word(base, i))
            v2 = round(v2, word(base, i + 8))
            v3 = round(v3, word(base, i + 16))
            v4 = round(v4, word(base, i + 24))
        }
    }

    /// The XXH64 digest of an array of bytes.
    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }

    /// The digest as 16 lowercase hex digits, as manifests store it.
    public static func hex(_ digest: UInt64) -> String {
        let s = String(digest, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    /// Consumes the tail (fewer than 32 bytes from `i`) and avalanches.
    @inline(__always)
    private static func finish(_ start: UInt64, _ base: UnsafeRawPointer?, _ from: Int, _ n: Int) -> UInt64 {
        var h = start
        var i = from
        if let base {
            while i + 8 <= n {
                h ^= round(0, word(base, i))
                h = rotl(h, 27) &* p1 &+ p4
                i += 8
            }
            if i + 4 <= n {
                h ^= UInt64(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt32.self))) &* p1
                h = rotl(h, 23) &* p2 &+ p3
                i += 4
            }
            while i < n {
                h ^= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) &* p5
                h = rotl(h, 11) &* p1
                i += 1
            }
        }
        h ^= h >> 33
        h = h &* p2
        h ^= h >> 29
        h = h &* p3
        h ^= h >> 32
        return h
    }

    @inline(__always)
    private static func word(_ base: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inline(__always)
    private static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        rotl(acc &+ input &* p2, 31) &* p1
    }

    /// The four lanes' accumulators folded into one, once every 32-byte stripe is consumed.
    @inline(__always)
    private static func converge(_ v1: UInt64, _ v2: UInt64, _ v3: UInt64, _ v4: UInt64) -> UInt64 {
        var h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
        h = merge(h, v1)
        h = merge(h, v2)
        h = merge(h, v3)
        return merge(h, v4)
    }

    @inline(__always)
    private static func merge(_ acc: UInt64, _ v: UInt64) -> UInt64 {
        (acc ^ round(0, v)) &* p1 &+ p4
    }
}
