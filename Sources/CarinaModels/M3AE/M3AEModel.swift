// M3AE's network (methods/M3AE.md §2): a ViT image encoder and a transformer report encoder, projections
// to the fusion width plus modality-type embeddings, a two-stream co-attention fusion (METER's post-LN
// layers: self-attention, cross-attention to the other stream's input to the layer, FFN; both streams
// updated in parallel), poolers, and the three heads — the MAE pixel decoder, the MLM head and the
// image-text matching head. Not for: the objectives and their masking (M3AEMethod.swift).
import CarinaNN
import Foundation

/// Where a fusion pass draws its dropout masks: keyed by (seed, step, pass, site) and by the global row,
/// so a sample's masks are the same on any rank. nil sites when not training.
public struct FusionDropoutKeys: Sendable {
    public let seed: UInt64
    public let step: Int
    public let pass: Int
    public let firstRow: Int
    public let training: Bool

    public init(seed: UInt64, step: Int, pass: Int, firstRow: Int, training: Bool) {
        (self.seed, self.step, self.pass, self.firstRow, self.training) = (seed, step, pass, firstRow, training)
    }

    /// The key of dropout site `site` (layer, stream and sub-layer numbered by the caller).
    public func key(_ site: Int) -> RandomKey? {
        guard training else { return nil }
        let stream = RNG.mix64(UInt64(bitPattern: Int64(step)) &* 0x9e37_79b9_7f4a_7c15 ^ UInt64(pass) << 48 ^ UInt64(site) ^ 0x6d33_6165)
        return RandomKey(seed: seed, stream: stream, firstRow: firstRow)
    }
}

/// One post-LN co-attention layer of one stream (METER's BertCrossLayer): h = LN(x + Drop(SelfAttn(x))),
/// h = LN(h + Drop(CrossAttn(h, other))), out = LN(h + Drop(FFN(h))); LayerNorm eps 1e-12, exact GELU.
public final class CoAttentionLayer: Module {
    public let selfAttention: SelfAttention
    public let norm1: LayerNorm
    public let crossAttention: CrossAttention
    public let norm2: LayerNorm
    public let mlp: MLP
    public let norm3: LayerNorm
    public let dropout: Float
    public let attentionDropout: Float

    public init(width: Int, heads: Int, mlpRatio: Float, dropout: Float, attentionDropout: Float, std: Float = 0.02, rng: inout RNG) {
        selfAttention = SelfAttention(dim: width, heads: heads, std: std, rng: &rng)
        norm1 = LayerNorm(width, eps: 1e-12)
        crossAttention = CrossAttention(dim: width, heads: heads, std: std, rng: &rng)
        norm2 = LayerNorm(width, eps: 1e-12)
        mlp = MLP(dim: width, hidden: Int((Float(width) * mlpRatio).rounded()), activation: .gelu, std: std, rng: &rng)
        norm3 = LayerNorm(width, eps: 1e-12)
        self.dropout = dropout
        self.attentionDropout = attentionDropout
    }

    /// x (B, T, W) with padding (B, T) attends to itself, then to `other` (B, To, W) with its padding.
    /// Dropout sites `site ..< site + 5`. `causal`: each position attends to itself and earlier ones only
    /// (PRIOR's sentence decoder as the official code runs it; M3AE's fusion never is).
    public func callAsFunction(_ x: Tensor, padding: Tensor?, other: Tensor, otherPadding: Tensor?, keys: FusionDropoutKeys, site: Int,
                               causal: Bool = false) throws -> Tensor {
        func attentionDrop(_ s: Int) -> AttentionDropout? {
            keys.key(site + s).flatMap { attentionDropout > 0 ? AttentionDropout(probability: attentionDropout, key: $0) : nil }
        }
        func drop(_ t: Tensor, _ s: Int) throws -> Tensor {
            guard let key = keys.key(site + s), dropout > 0 else { return t }
            return try t.dropout(dropout, training: true, key: key)
        }
        var h = try norm1(x + drop(selfAttention(x, keyPadding: padding, causal: causal, dropout: attentionDrop(0)), 1))
        h = try norm2(h + drop(crossAttention(h, context: other, contextPadding: otherPadding, dropout: attentionDrop(2)), 3))
        return try norm3(h + drop(mlp(h), 4))
    }
}

/// The MAE decoder (§2.3): visible tokens to the decoder width, a learned mask token at every removed
/// patch, patches back in raster order, a fixed 2-D sin-cos position embedding (zero for the class
/// token), pre-LN blocks with QuickGELU and a final LayerNorm, and a linear pixel head; the class token is
/// dropped from the output.
public final class MIMDecoder: Module {
    public let embed: Linear  // fusion width -> D
    public let maskToken: Tensor  // (D)
    public let blocks: Transformer
    public let pixelHead: Linear  // D -> p·p·C
    /// (1 + N, D), row 0 for the class token: fixed, not a parameter.
    let positions: [Float]
    public let patches: Int
    override public var weightDecayExempt: Set<String> { ["maskToken"] }

    public init(inputWidth: Int, width: Int, depth: Int, heads: Int, mlpRatio: Float, grid: Int, patchPixels: Int, std: Float = 0.02, rng: inout RNG) {
        embed = Linear(inputWidth, width, std: std, rng: &rng)
        maskToken = Init.normal([width], std: 0.02, rng: &rng)
        blocks = Transformer(dim: width, depth: depth, heads: heads, mlpRatio: mlpRatio, activation: .quickGELU, rng: &rng)
        pixelHead = Linear(width, patchPixels, std: std, rng: &rng)
        patches = grid * grid
        positions = [Float](repeating: 0, count: width) + MIMDecoder.sinCosPositions(width: width, grid: grid)
    }

    /// MAE's fixed 2-D embedding for a grid × grid raster (row-major), (N · width) values: the first half
    /// of the channels encodes the column, the second half the row; each half is [sin(p·ωᵢ), cos(p·ωᵢ)]
    /// with ωᵢ = 1 / 10000^(i / (width/4)), i < width/4.
    public static func sinCosPositions(width: Int, grid: Int) -> [Float] {
        let quarter = width / 4
        var out = [Float](repeating: 0, count: grid * grid * width)
        for row in 0..<grid {
            for col in 0..<grid {
                let base = (row * grid + col) * width
                for (half, p) in [(0, Double(col)), (1, Double(row))] {
                    for i in 0..<quarter {
                        let omega = 1 / pow(10000, Double(i) / Double(quarter))
                        out[base + half * 2 * quarter + i] = Float(sin(p * omega))
                        out[base + half * 2 * quarter + quarter + i] = Float(cos(p * omega))
                    }
                }
            }
        }
        return out
    }

    /// tokens (B, 1 + K, W): the class token then the visible patches in `keep` order (ascending) ->
    /// pixels (B, N, p·p·C) for every patch in raster order.
    public func callAsFunction(_ tokens: Tensor, keep: [[Int]]) throws -> Tensor {
        let (b, k, n) = (tokens.shape[0], tokens.shape[1] - 1, patches)
        let d = maskToken.shape[0]
        guard keep.count == b, keep.allSatisfy({ $0.count == k }) else {
            throw TensorError.invalidArgument(op: "mim_decoder", detail: "keep must list the \(k) visible patches of each of \(b) samples")
        }
        let x = try embed(tokens)  // (B, 1 + K, D)
        let visible = try x.slice(axis: 1, 1, 1 + k)
        let masked = try maskToken.reshaped([1, 1, d]).expanded(to: [b, n - k, d])
        // [visible | masked] per sample, then each raster position picks its row.
        let joined = try Tensor.concat([visible, masked], axis: 1).reshaped([b * n, d])
        var rows: [Int] = []
        rows.reserveCapacity(b * n)
        for (s, kept) in keep.enumerated() {
            var slot = [Int](repeating: -1, count: n)
            for (j, i) in kept.enumerated() {
                guard (0..<n).contains(i), slot[i] < 0 else {
                    throw TensorError.outOfRange(op: "mim_decoder", detail: "patch \(i) of sample \(s) is outside 0..<\(n) or listed twice")
                }
                slot[i] = j
            }
            var next = k
            for i in 0..<n {
                if slot[i] < 0 { slot[i] = next; next += 1 }
                rows.append(s * n + slot[i])
            }
        }
        let sequence = try Tensor.concat([x.slice(axis: 1, 0, 1), joined.indexSelect(axis: 0, rows).reshaped([b, n, d])], axis: 1)
        let decoded = try blocks(sequence + Tensor(shape: [1 + n, d], values: positions))
        return try pixelHead(decoded.slice(axis: 1, 1, 1 + n))
    }
}

/// The MLM head (§2.4): Linear, GELU, LayerNorm (eps 1e-12), Linear to the vocabulary with a bias; not
/// tied to the word embeddings.
public final class MLMHead: Module {
    public let dense: Linear
    public let norm: LayerNorm
    public let decoder: Linear

    public init(width: Int, vocabSize: Int, std: Float = 0.02, rng: inout RNG) {
        dense = Linear(width, width, std: std, rng: &rng)
        norm = LayerNorm(width, eps: 1e-12)
        decoder = Linear(width, vocabSize, std: std, rng: &rng)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor { try decoder(norm(dense(x).gelu())) }
}

public final class M3AEModel: Module {
    public let config: M3AEConfig
    public let visual: ViT
    public let text: TextEncoder
    public let imageProjection: Linear  // visionWidth -> fusionWidth
    public let textProjection: Linear  // textWidth -> fusionWidth
    /// Row 0 is added to every text token, row 1 to every image token.
    public let modalityType: Embedding
    public let textLayers: [CoAttentionLayer]
    public let imageLayers: [CoAttentionLayer]
    public let textPooler: Linear
    public let imagePooler: Linear
    public let mimDecoder: MIMDecoder
    public let mlmHead: MLMHead
    public let itmHead: Linear  // 2 · fusionWidth -> 2 (no match, match)

    /// Top-level modules of the fusion and of the heads (their learning-rate groups).
    public static let fusionModules: Set<String> = ["imageProjection", "textProjection", "modalityType", "textLayers", "imageLayers", "textPooler", "imagePooler"]
    public static let headModules: Set<String> = ["mimDecoder", "mlmHead", "itmHead"]

    public init(config c: M3AEConfig, seed: UInt64) {
        config = c
        var rng = RNG(seed: seed, "init.m3ae")
        visual = ViT(imageSize: c.imageSize, patchSize: c.patchSize, channels: c.imageChannels, width: c.visionWidth, depth: c.visionDepth,
                     heads: c.visionHeads, mlpRatio: c.mlpRatio, activation: c.visionActivation, patchBias: c.patchBias, preNorm: c.preNorm, rng: &rng)
        text = TextEncoder(vocabSize: c.vocabSize, contextLength: c.contextLength, width: c.textWidth, depth: c.textDepth, heads: c.textHeads,
                           mlpRatio: c.mlpRatio, options: c.textOptions, rng: &rng)
        let std = c.initStd > 0 ? c.initStd : 1 / Float(c.fusionWidth).squareRoot()
        imageProjection = Linear(c.visionWidth, c.fusionWidth, std: std, rng: &rng)
        textProjection = Linear(c.textWidth, c.fusionWidth, std: std, rng: &rng)
        modalityType = Embedding(2, c.fusionWidth, std: std, rng: &rng)
        func layers() -> [CoAttentionLayer] {
            (0..<c.fusionLayers).map { _ in
                CoAttentionLayer(width: c.fusionWidth, heads: c.fusionHeads, mlpRatio: c.mlpRatio, dropout: c.dropout,
                                 attentionDropout: c.attentionDropout, std: std, rng: &rng)
            }
        }
        textLayers = layers()
        imageLayers = layers()
        textPooler = Linear(c.fusionWidth, c.fusionWidth, std: std, rng: &rng)
        imagePooler = Linear(c.fusionWidth, c.fusionWidth, std: std, rng: &rng)
        mimDecoder = MIMDecoder(inputWidth: c.fusionWidth, width: c.decoderWidth, depth: c.decoderDepth, heads: c.decoderHeads, mlpRatio: c.mlpRatio,
                                grid: c.imageSize / c.patchSize, patchPixels: c.patchSize * c.patchSize * c.imageChannels, std: std, rng: &rng)
        mlmHead = MLMHead(width: c.fusionWidth, vocabSize: c.vocabSize, std: std, rng: &rng)
        itmHead = Linear(2 * c.fusionWidth, 2, std: std, rng: &rng)
    }

    func typed(_ x: Tensor, _ type: Int32) throws -> Tensor {
        try x + modalityType(IndexTensor(shape: [1], values: [type])).reshaped([1, 1, config.fusionWidth])
    }

    /// images (B, C, H, W) -> fusion-input image tokens (B, 1 + K, fusionWidth): class token then the
    /// `keep` patches (all N in raster order when nil).
    public func imageTokens(_ images: Tensor, keep: [[Int]]? = nil) throws -> Tensor {
        try typed(imageProjection(visual(images, keep: keep)), 1)
    }

    /// ids, padding (B, T) -> fusion-input text tokens (B, T, fusionWidth).
    public func textTokens(_ ids: IndexTensor, padding: Tensor) throws -> Tensor {
        try typed(textProjection(text(ids, padding: padding)), 0)
    }

    /// Runs the first `layers` co-attention pairs (all when nil): both streams updated from the previous
    /// layer's pair. Returns the two streams after them.
    public func fuse(text x: Tensor, padding: Tensor, image y: Tensor, keys: FusionDropoutKeys, layers: Int? = nil) throws -> (text: Tensor, image: Tensor) {
        var (t, i) = (x, y)
        for l in 0..<(layers ?? textLayers.count) {
            let nextText = try textLayers[l](t, padding: padding, other: i, otherPadding: nil, keys: keys, site: 10 * l)
            let nextImage = try imageLayers[l](i, padding: nil, other: t, otherPadding: padding, keys: keys, site: 10 * l + 5)
            (t, i) = (nextText, nextImage)
        }
        return (t, i)
    }

    /// The joint feature (B, 2 · fusionWidth): [tanh(textPooler(text₀)) | tanh(imagePooler(image₀))].
    public func pooled(text t: Tensor, image i: Tensor) throws -> Tensor {
        let (b, w) = (t.shape[0], config.fusionWidth)
        let first = { (x: Tensor) in try x.slice(axis: 1, 0, 1).reshaped([b, w]) }
        return try Tensor.concat([textPooler(first(t)).tanh(), imagePooler(first(i)).tanh()], axis: 1)
    }

    /// images (B, C, H, W) -> MAE's pixel targets (B, N, p·p·C): each patch's pixels in (row, column,
    /// channel) order, normalised per patch to mean 0 and unbiased variance 1 (eps 1e-6) when configured.
    public func pixelTargets(_ images: Tensor) throws -> Tensor {
        let (b, c, g, p) = (images.shape[0], config.imageChannels, visual.grid, config.patchSize)
        let patches = try images.detached().reshaped([b, c, g, p, g, p]).permuted([0, 2, 4, 3, 5, 1]).reshaped([b, g * g, p * p * c])
        guard config.normalizePixelTargets else { return patches }
        let d = p * p * c
        var v = patches.scalars
        for row in 0..<(b * g * g) {
            let base = row * d
            var mean = 0.0
            for j in 0..<d { mean += Double(v[base + j]) }
            mean /= Double(d)
            var sq = 0.0
            for j in 0..<d { sq += (Double(v[base + j]) - mean) * (Double(v[base + j]) - mean) }
            let std = (sq / Double(Swift.max(d - 1, 1)) + 1e-6).squareRoot()
            for j in 0..<d { v[base + j] = Float((Double(v[base + j]) - mean) / std) }
        }
        return Tensor(shape: patches.shape, values: v)
    }
}
