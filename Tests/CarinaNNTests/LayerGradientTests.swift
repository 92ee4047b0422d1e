// Layers composed from ops: gradients of inputs and weights against finite differences, and shapes.
import Testing
import CarinaNN
import Foundation
import CarinaTestSupport

@Suite struct LayerGradientTests {
    @Test func transformerBlockWithCrossAttention() throws {
        var rng = RNG(seed: 11)
        let block = TransformerBlock(dim: 8, heads: 2, mlpRatio: 2, contextDim: 6, rng: &rng)
        let x = randomTensor([2, 3, 8], stream: 1), ctx = randomTensor([2, 4, 6], stream: 2)
        let pad = Tensor(shape: [2, 4], values: [1, 1, 1, 0, 1, 1, 1, 1])
        try checkGradients([x, ctx, block.attn.qkv.weight, block.crossAttn!.key.weight, block.mlp.fc1.bias!]) { t in
            try block(t[0], causal: true, context: t[1], contextPadding: pad)
        }
    }

    @Test func vitEncodesAllOrKeptPatches() throws {
        var rng = RNG(seed: 12)
        let vit = ViT(imageSize: 8, patchSize: 4, width: 8, depth: 1, heads: 2, rng: &rng)
        let images = randomTensor([2, 1, 8, 8], stream: 3)
        #expect(try vit(images).shape == [2, 5, 8])
        let keep = [[3, 0], [1, 2]]
        #expect(try vit(images, keep: keep).shape == [2, 3, 8])
        try checkGradients([images, vit.patchEmbed.weight, vit.classToken, vit.positionEmbedding]) { t in
            try vit(t[0], keep: keep)
        }
    }

    @Test func patchifyMatchesAConvolutionWithPatchSizedStride() throws {
        var rng = RNG(seed: 13)
        let vit = ViT(imageSize: 8, patchSize: 4, channels: 2, width: 5, depth: 0, heads: 1, rng: &rng)
        let images = randomTensor([2, 2, 8, 8])
        let viaLinear = try vit.patchEmbed(vit.patchify(images))  // (B, N, W)
        let convWeight = try vit.patchEmbed.weight.reshaped([5, 2, 4, 4])
        let viaConv = try images.conv2d(weight: convWeight, bias: vit.patchEmbed.bias, stride: 4)  // (B, W, 2, 2)
            .reshaped([2, 5, 4]).transposed(1, 2)
        for (a, b) in zip(viaLinear.scalars, viaConv.scalars) { #expect(abs(a - b) < 1e-4) }
    }

    @Test func resNetBlocksAndAttentionPool() throws {
        var rng = RNG(seed: 14)
        let basic = ResidualBlock(kind: .basic, inChannels: 2, planes: 3, stride: 2, rng: &rng)
        let bottleneck = ResidualBlock(kind: .bottleneck, inChannels: 3, planes: 2, stride: 1, rng: &rng)
        let x = randomTensor([2, 2, 6, 6], stream: 4)
        #expect(try bottleneck(basic(x)).shape == [2, 8, 3, 3])
        // BatchNorm in eval mode keeps the check smooth (no batch coupling); both modes are checked in CarinaTensor.
        basic.eval()
        try checkGradients([x, basic.conv1.weight, basic.bn2.bias, basic.downsample!.weight], rtol: 3e-2) { t in try basic(t[0]) }
        let pool = AttentionPool2d(spatial: 3, channels: 8, heads: 2, outDim: 5, rng: &rng)
        let fm = randomTensor([2, 8, 3, 3], stream: 5)
        try checkGradients([fm, pool.positionEmbedding, pool.attention.query.weight]) { t in try pool(t[0]).pooled }
        let net = ResNet(kind: .bottleneck, blocks: [1, 1], width: 4, rng: &rng)
        #expect(try net(randomTensor([1, 1, 32, 32])).shape == [1, 32, 4, 4])
        #expect(net.outChannels == 32)
    }

    @Test func clipModifiedResNetAndFusedPool() throws {
        var rng = RNG(seed: 16)
        // An anti-aliased strided bottleneck: average pools after the 3x3 convolution and before the shortcut's 1x1.
        let block = ResidualBlock(kind: .bottleneck, inChannels: 3, planes: 2, stride: 2, antiAliased: true, rng: &rng)
        block.eval()
        let x = randomTensor([2, 3, 4, 4], stream: 13)
        #expect(try block(x).shape == [2, 8, 2, 2] && block.conv2.stride == 1 && block.downsample?.stride == 1)
        try checkGradients([x, block.conv2.weight, block.downsample!.weight, block.bn3!.bias], rtol: 3e-2) { t in try block(t[0]) }
        // The pool's attention projects straight to outDim (CLIP's c_proj); no second projection.
        let pool = AttentionPool2d(spatial: 2, channels: 8, heads: 2, outDim: 5, fused: true, rng: &rng)
        #expect(pool.outProj == nil && pool.attention.proj.weight.shape == [5, 8])
        let fm = randomTensor([2, 8, 2, 2], stream: 9)
        try checkGradients([fm, pool.attention.proj.weight, pool.attention.value.weight]) { t in try pool(t[0]).pooled }
        let net = ResNet(kind: .bottleneck, blocks: [1, 1, 1, 1], width: 4, style: .clip, rng: &rng)
        #expect(net.stem.weight.shape == [2, 1, 3, 3] && net.stem3?.weight.shape == [4, 2, 3, 3])
        #expect(try net(randomTensor([1, 1, 64, 64])).shape == [1, 128, 2, 2])
    }

    @Test func gruCellMatchesItsEquationsAndGradients() throws {
        var rng = RNG(seed: 15)
        let cell = GRUCell(input: 3, hidden: 2, rng: &rng)
        let x = randomTensor([1, 3], stream: 6), h = randomTensor([1, 2], stream: 7)
        let out = try cell(x, h)
        // Scalar reference of PyTorch's GRUCell equations.
        func row(_ w: Tensor, _ r: Int, _ v: Tensor) -> Float { (0..<v.count).reduce(0) { $0 + w[r, $1] * v.pointer[$1] } }
        func sig(_ z: Float) -> Float { 1 / (1 + exp(-z)) }
        for j in 0..<2 {
            let r = sig(row(cell.weightIH, j, x) + cell.biasIH.pointer[j] + row(cell.weightHH, j, h) + cell.biasHH.pointer[j])
            let z = sig(row(cell.weightIH, 2 + j, x) + cell.biasIH.pointer[2 + j] + row(cell.weightHH, 2 + j, h) + cell.biasHH.pointer[2 + j])
            let n = tanh(row(cell.weightIH, 4 + j, x) + cell.biasIH.pointer[4 + j] + r * (row(cell.weightHH, 4 + j, h) + cell.biasHH.pointer[4 + j]))
            #expect(abs(out[0, j] - ((1 - z) * n + z * h.pointer[j])) < 1e-5)
        }
        try checkGradients([randomTensor([2, 3]), randomTensor([2, 2], stream: 8), cell.weightHH, cell.biasIH]) { t in try cell(t[0], t[1]) }
    }

    @Test func attentionPoolOverTokensIgnoresPadding() throws {
        var rng = RNG(seed: 16)
        let pool = AttentionPool(dim: 4, heads: 2, rng: &rng)
        let tokens = randomTensor([1, 3, 4])
        let pad = Tensor(shape: [1, 3], values: [1, 1, 0])
        let a = try pool(tokens, padding: pad)
        tokens[0, 2, 1] = 100  // a padded token changes nothing
        let b = try pool(tokens, padding: pad)
        #expect(a.scalars == b.scalars)
        try checkGradients([randomTensor([2, 3, 4]), pool.query]) { t in try pool(t[0], padding: nil) }
    }
}
