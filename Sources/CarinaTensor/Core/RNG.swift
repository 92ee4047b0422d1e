// Counter-based random numbers (Philox4x32-10, Salmon et al. SC'11): a draw is a pure function of
// (seed, stream, counter), so it never depends on call order, thread or rank. Streams name a purpose
// and a sample ("augment", epoch, sample index), which keeps data order, augmentation and masking
// independent of world size. Not for: cryptography.
import Foundation

/// Philox4x32-10: maps a 128-bit counter and 64-bit key to four 32-bit random words.
@inlinable
public func philox4x32(counter c: (UInt32, UInt32, UInt32, UInt32), key k: (UInt32, UInt32)) -> (UInt32, UInt32, UInt32, UInt32) {
    var (c0, c1, c2, c3) = c
    var (k0, k1) = k
    let m0: UInt64 = 0xD251_1F53, m1: UInt64 = 0xCD9E_8D57
    for _ in 0..<10 {
        let p0 = m0 &* UInt64(c0)
        let p1 = m1 &* UInt64(c2)
        let n0 = UInt32(truncatingIfNeeded: p1 >> 32) ^ c1 ^ k0
        let n1 = UInt32(truncatingIfNeeded: p1)
        let n2 = UInt32(truncatingIfNeeded: p0 >> 32) ^ c3 ^ k1
        let n3 = UInt32(truncatingIfNeeded: p0)
        (c0, c1, c2, c3) = (n0, n1, n2, n3)
        k0 &+= 0x9E37_79B9
        k1 &+= 0xBB67_AE85
    }
    return (c0, c1, c2, c3)
}

/// A stream of random numbers keyed by (seed, stream). Copying it copies its position; two generators
/// with the same key and position produce the same numbers.
public struct RNG: Sendable {
    public let seed: UInt64
    public let stream: UInt64
    /// Index of the next 128-bit block.
    public private(set) var position: UInt64 = 0
    private var buffer: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
    private var used = 4

    public init(seed: UInt64, stream: UInt64 = 0) {
        self.seed = seed
        self.stream = stream
    }

    /// A stream named by a purpose and integers, e.g. `RNG(seed: s, "augment", epoch, index)`.
    public init(seed: UInt64, _ purpose: String, _ ids: Int...) {
        self.init(seed: seed, stream: RNG.streamID(purpose, ids))
    }

    /// Stable 64-bit id of a purpose string and integers (FNV-1a then a SplitMix64 finaliser).
    public static func streamID(_ purpose: String, _ ids: [Int]) -> UInt64 {
        var h = FNV1a64()
        h.update(purpose)
        for id in ids { h.update(integer: id) }
        return mix64(h.value)
    }

    @inlinable public static func mix64(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The four words of block `index` of this stream, without moving the position.
    @inlinable
    public func block(_ index: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        philox4x32(
            counter: (UInt32(truncatingIfNeeded: index), UInt32(truncatingIfNeeded: index >> 32),
                      UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32)),
            key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
    }

    /// Moves to block `index` (random access into the stream).
    public mutating func seek(to index: UInt64) {
        position = index
        used = 4
    }

    public mutating func nextUInt32() -> UInt32 {
        if used == 4 {
            buffer = block(position)
            position &+= 1
            used = 0
        }
        defer { used += 1 }
        switch used {
        case 0: return buffer.0
        case 1: return buffer.1
        case 2: return buffer.2
        default: return buffer.3
        }
    }

    public mutating func nextUInt64() -> UInt64 {
        UInt64(nextUInt32()) << 32 | UInt64(nextUInt32())
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func uniform() -> Float {
        Float(nextUInt32() >> 8) * (1.0 / 16_777_216.0)
    }

    /// Uniform in [lo, hi).
    public mutating func uniform(_ lo: Float, _ hi: Float) -> Float {
        lo + (hi - lo) * uniform()
    }

    /// Uniform in (0, 1): never 0, safe for log.
    public mutating func uniformOpen() -> Float {
        (Float(nextUInt32() >> 8) + 0.5) * (1.0 / 16_777_216.0)
    }

    /// Standard normal (Box-Muller; one draw per call, deterministic).
    public mutating func normal() -> Float {
        let u1 = Double(uniformOpen())
        let u2 = Double(uniform())
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// Integer uniform in 0..<n (Lemire's multiply-shift; negligible bias for n << 2^32).
    public mutating func int(_ n: Int) -> Int {
        precondition(n > 0)
        return Int((UInt64(nextUInt32()) &* UInt64(n)) >> 32)
    }

    /// A uniformly random permutation of 0..<n (Fisher-Yates).
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n < 2 { return p }
        for i in stride(from: n - 1, to: 0, by: -1) {
            let j = Int((nextUInt64() >> 11) % UInt64(i + 1))
            p.swapAt(i, j)
        }
        return p
    }

    /// Gumbel(0, 1) draw: -log(-log(u)).
    public mutating func gumbel() -> Float {
        RNG.gumbel(bits: nextUInt32())
    }

    /// The Gumbel draw of 32 random bits: u = (top 24 bits + 0.5) / 2²⁴ in Double, strictly inside (0, 1).
    /// (In Float the largest such u rounds to 1, whose draw is +∞ and turns a Gumbel-softmax into NaN:
    /// one draw in 2²⁴ did, in a PRIOR run.)
    public static func gumbel(bits: UInt32) -> Float {
        let u = (Double(bits >> 8) + 0.5) * (1.0 / 16_777_216.0)
        return -Float(log(-log(u)))
    }
}
