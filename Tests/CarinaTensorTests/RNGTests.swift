import Testing
@testable import CarinaTensor

@Suite struct RNGTests {
    @Test func philoxMatchesRandom123KnownAnswers() {
        // Known-answer vectors from Random123 (kat_vectors): philox4x32 with 10 rounds.
        let zero = philox4x32(counter: (0, 0, 0, 0), key: (0, 0))
        #expect([zero.0, zero.1, zero.2, zero.3] == [0x6627_E8D5, 0xE169_C58D, 0xBC57_AC4C, 0x9B00_DBD8])
        let ones = philox4x32(counter: (0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF), key: (0xFFFF_FFFF, 0xFFFF_FFFF))
        #expect([ones.0, ones.1, ones.2, ones.3] == [0x408F_276D, 0x41C8_3B0E, 0xA20B_C7C6, 0x6D54_51FD])
        let pi = philox4x32(counter: (0x243F_6A88, 0x85A3_08D3, 0x1319_8A2E, 0x0370_7344), key: (0xA409_3822, 0x299F_31D0))
        #expect([pi.0, pi.1, pi.2, pi.3] == [0xD16C_FE09, 0x94FD_CCEB, 0x5001_E420, 0x2412_6EA1])
    }

    @Test func gumbelDrawsAreFiniteAtBothEndsOfTheUniformRange() {
        // The largest 24-bit uniform, (2^24 - 0.5) / 2^24, is 1.0 in Float: its draw was +inf.
        let top = RNG.gumbel(bits: UInt32.max), bottom = RNG.gumbel(bits: 0)
        #expect(top.isFinite && bottom.isFinite)
        #expect(top > 15 && top < 18)  // -log(-log(1 - 2^-25)) = 17.33
        #expect(bottom < -2.5 && bottom > -3.5)  // -log(-log(2^-25)) = -2.86
    }
}
