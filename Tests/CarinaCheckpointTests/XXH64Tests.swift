// XXH64 is the real xxHash64: published digests, and libzstd's own frame checksums (the low 32 bits of
// XXH64 of the frame content) for many lengths. Not for: how checkpoints use it (CheckpointFileTests).
import CarinaCheckpoint
import CarinaTensor
import Testing

@Suite struct XXH64Tests {
    @Test func publishedDigestsMatch() {
        #expect(XXH64.hash([]) == 0xEF46_DB37_51D8_E999)
        #expect(XXH64.hash(Array("a".utf8)) == 0xD24E_C4F1_A98C_6E5B)
        #expect(XXH64.hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
        #expect(XXH64.hash(Array("Nobody inspects the spammish repetition".utf8)) == 0xFBCE_A83C_8A37_8BF1)
        #expect(XXH64.hex(0xAB) == "00000000000000ab")
    }

    @Test func agreesWithZstdFrameChecksumsAtEveryTailLength() throws {
        var rng = RNG(seed: 3, "xxh64")
        for length in Array(0...70) + [1000, 4093, 65_536 + 7] {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.int(256)) }
            let frame = try Zstd.compress(bytes, level: 1)
            let zstdChecksum = frame.suffix(4).enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
            #expect(UInt32(truncatingIfNeeded: XXH64.hash(bytes)) == zstdChecksum, "length \(length)")
        }
    }

    @Test func byteShuffleSplitsPlanesAndInverts() {
        let words: [UInt32] = (0..<19).map { 0x0403_0201 &* UInt32($0 + 1) }
        var planes = [UInt8](repeating: 0, count: 76)
        var back = [UInt32](repeating: 0, count: 19)
        words.withUnsafeBytes { w in planes.withUnsafeMutableBytes { ByteShuffle.shuffle(w.baseAddress!, count: 19, into: $0.baseAddress!) } }
        for i in 0..<19 {
            for b in 0..<4 { #expect(planes[b * 19 + i] == UInt8(truncatingIfNeeded: words[i] >> (8 * UInt32(b)))) }
        }
        planes.withUnsafeBytes { p in back.withUnsafeMutableBytes { ByteShuffle.unshuffle(p.baseAddress!, count: 19, into: $0.baseAddress!) } }
        #expect(back == words)
    }
}
