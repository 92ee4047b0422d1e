// Modules: parameter names and order, buffers, modes, freezing and weight-decay flags.
import Testing
import CarinaNN
import CarinaTestSupport
import Foundation

@Suite struct ModuleTests {
    @Test func parameterNamesFollowPropertyPathsInDeclarationOrder() {
        var rng = RNG(seed: 1)
        let block = TransformerBlock(dim: 8, heads: 2, mlpRatio: 2, contextDim: 6, rng: &rng)
        #expect(block.namedParameters.map(\.name) == [
            "norm1.weight", "norm1.bias",
            "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias",
            "crossNorm.weight", "crossNorm.bias",
            "crossAttn.query.weight", "crossAttn.query.bias", "crossAttn.key.weight", "crossAttn.key.bias",
            "crossAttn.value.weight", "crossAttn.value.bias", "crossAttn.proj.weight", "crossAttn.proj.bias",
            "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias",
        ])
        #expect(block.namedParameters[2].tensor.name == "attn.qkv.weight")
    }

    @Test func arraysOfModulesAreNumbered() {
        var rng = RNG(seed: 1)
        let vit = ViT(imageSize: 8, patchSize: 4, width: 8, depth: 2, heads: 2, rng: &rng)
        let names = vit.namedParameters.map(\.name)
        #expect(names.prefix(4) == ["patchEmbed.weight", "patchEmbed.bias", "classToken", "positionEmbedding"])
        #expect(names.contains("encoder.blocks.1.mlp.fc2.bias"))
        #expect(names.last == "encoder.norm.bias")
        // 16·8+8 + 8 + 5·8 + 2 blocks + final norm 16
        let block = 16 + (8 * 24 + 24) + (8 * 8 + 8) + 16 + (8 * 32 + 32) + (32 * 8 + 8)
        #expect(vit.parameterCount() == 16 * 8 + 8 + 8 + 5 * 8 + 2 * block + 16)
    }

    @Test func sameSeedBuildsTheSameModel() {
        var a = RNG(seed: 42), b = RNG(seed: 42)
        let m1 = ViT(imageSize: 8, patchSize: 4, width: 8, depth: 1, heads: 2, rng: &a)
        let m2 = ViT(imageSize: 8, patchSize: 4, width: 8, depth: 1, heads: 2, rng: &b)
        for (p, q) in zip(m1.namedParameters, m2.namedParameters) { #expect(p.tensor.scalars == q.tensor.scalars) }
    }

    @Test func batchNormStatisticsAreBuffersNotParameters() {
        var rng = RNG(seed: 3)
        let net = ResNet(kind: .basic, blocks: [1], width: 4, rng: &rng)
        #expect(net.namedBuffers.map(\.name).prefix(2) == ["stemBN.runningMean", "stemBN.runningVar"])
        #expect(!net.namedParameters.map(\.name).contains("stemBN.runningMean"))
    }

    @Test func weightDecayExcludesBiasesNormsEmbeddingsAndTokens() {
        var rng = RNG(seed: 1)
        let vit = ViT(imageSize: 8, patchSize: 4, width: 8, depth: 1, heads: 2, rng: &rng)
        let decays = Dictionary(uniqueKeysWithValues: vit.namedParameters.map { ($0.name, $0.decays) })
        #expect(decays["patchEmbed.weight"] == true)
        #expect(decays["encoder.blocks.0.attn.qkv.weight"] == true)
        #expect(decays["patchEmbed.bias"] == false)
        #expect(decays["encoder.blocks.0.norm1.weight"] == false)
        #expect(decays["classToken"] == false)
        #expect(decays["positionEmbedding"] == false)
        let emb = Embedding(10, 4, rng: &rng)
        #expect(emb.namedParameters.map(\.decays) == [false])
    }

    @Test func trainAndEvalReachEverySubmodule() {
        var rng = RNG(seed: 1)
        let net = ResNet(kind: .bottleneck, blocks: [1, 1], width: 4, rng: &rng)
        net.eval()
        #expect(net.allModules.allSatisfy { !$0.isTraining })
        net.train()
        #expect(net.allModules.allSatisfy { $0.isTraining })
    }

    @Test func freezingLeavesParametersUntouchedByTraining() throws {
        var rng = RNG(seed: 5)
        let backbone = Linear(4, 4, rng: &rng), head = Linear(4, 2, rng: &rng)
        backbone.freeze()
        let before = backbone.namedParameters.map { $0.tensor.scalars }
        let headBefore = head.weight.scalars
        let opt = AdamW(backbone.trainableParameters + head.trainableParameters, learningRate: 0.1)
        #expect(opt.parameters.map(\.name) == ["weight", "bias"])  // only the head's
        let x = randomTensor([3, 4])
        try head(backbone(x)).square().sum().backward()
        #expect(backbone.weight.grad == nil)
        try opt.step()
        #expect(backbone.namedParameters.map { $0.tensor.scalars } == before)
        #expect(head.weight.scalars != headBefore)
        #expect(backbone.parameterCount(trainableOnly: true) == 0)
        backbone.unfreeze()
        #expect(backbone.parameterCount(trainableOnly: true) == 20)
    }
}
