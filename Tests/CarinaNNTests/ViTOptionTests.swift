// The ViT's options for OpenAI CLIP's visual tower: a bias-free patch projection and `ln_pre` on the whole
// sequence before the blocks — parameter names, and the forward pass against its hand composition.
import Testing
import CarinaNN
import CarinaTestSupport

@Suite struct ViTOptionTests {
    @Test func biasFreePatchesAndPreNormAreOpenAICLIPsTower() throws {
        var rng = RNG(seed: 8, "test")
        let vit = ViT(imageSize: 8, patchSize: 4, channels: 1, width: 8, depth: 1, heads: 2, activation: .quickGELU, patchBias: false, preNorm: true, rng: &rng)
        let names = vit.namedParameters.map(\.name)
        #expect(!names.contains("patchEmbed.bias") && names.contains("preNorm.weight") && names.contains("preNorm.bias"), "\(names)")
        // Make the LayerNorm's affine part non-trivial so a missing or misplaced ln_pre shows.
        for i in 0..<8 { vit.preNorm!.weight.pointer[i] = 0.5 + Float(i) / 8; vit.preNorm!.bias.pointer[i] = Float(i) / 16 - 0.2 }
        let images = randomTensor([2, 1, 8, 8], stream: 3)
        let got = try vit(images)
        let patches = try vit.patchEmbed(vit.patchify(images)) + vit.positionEmbedding.slice(axis: 0, 1, 5)
        let cls = try (vit.classToken + vit.positionEmbedding.slice(axis: 0, 0, 1).reshaped([8])).reshaped([1, 1, 8]).expanded(to: [2, 1, 8])
        let expected = try vit.encoder(vit.preNorm!(Tensor.concat([cls, patches], axis: 1)))
        #expect(zip(got.scalars, expected.scalars).allSatisfy { abs($0 - $1) < 1e-5 })
        let plain = ViT(imageSize: 8, patchSize: 4, width: 8, depth: 1, heads: 2, rng: &rng)
        #expect(plain.preNorm == nil && plain.namedParameters.contains { $0.name == "patchEmbed.bias" })
    }
}
