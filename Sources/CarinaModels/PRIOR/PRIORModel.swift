// PRIOR's network (methods/PRIOR.md §2): a ResNet image encoder whose last feature map gives local tokens
// (positions in row-major order, channels last: the fix of pitfall R1) and, through CLIP's attention
// pool, a global feature; a report encoder whose projected tokens are mean-pooled per sentence and whose
// sentences are attention-pooled into a report feature; the sentence prototype bank (SPB), the local
// alignment module (LAM), the SimSiam predictor, and stage 3's decoders (image and sentence). Not for: the
// losses, stages and evaluation (PRIORMethod.swift).
import CarinaNN
import Foundation

/// Attention pooling over a report's sentences (SentenceAttentionPool, no position embedding): the mean of
/// the real sentences attends over itself and every real sentence; its output is the report feature.
public final class SentenceAttentionPool: Module {
    public let attention: CrossAttention  // query, key, value and output projections, with bias

    public init(dim: Int, heads: Int, rng: inout RNG) {
        attention = CrossAttention(dim: dim, heads: heads, std: nil, rng: &rng)
    }

    /// sentences (B, S, E) with mask (B, S) (1 = a real sentence) -> (B, E). A row with no real sentence
    /// pools its zero mean over itself alone (finite; such rows are left out of every loss).
    public func callAsFunction(_ sentences: Tensor, mask: Tensor) throws -> Tensor {
        let (b, s, e) = (sentences.shape[0], sentences.shape[1], sentences.shape[2])
        let counts = try mask.sum(axis: 1, keepDims: true).clamped(min: 1)  // (B, 1)
        let mean = try (sentences * mask.reshaped([b, s, 1])).sum(axis: 1) / counts  // (B, E)
        let query = try mean.reshaped([b, 1, e])
        let tokens = try Tensor.concat([query, sentences], axis: 1)  // (B, 1 + S, E)
        let padding = try Tensor.concat([Tensor.ones([b, 1]), mask], axis: 1)
        return try attention(query, context: tokens, contextPadding: padding).reshaped([b, e])
    }
}

/// The sentence prototype bank (§2.3): a learnable codebook; a sentence's soft assignment is the
/// Gumbel-softmax of its dot products with the codes, its output the assignment's mix of codes.
public final class SentencePrototypeBank: Module {
    public let codebook: Tensor  // (K, E), N(0, 1) as nn.Embedding

    public init(count: Int, dim: Int, rng: inout RNG) {
        codebook = Init.normal([count, dim], std: 1, rng: &rng)
    }

    /// x (B, S, E) -> output (B, S, E) and logits x·Eᵀ (B, S, K). With a key the assignment is
    /// softmax((logits + g) / τ), g ~ Gumbel(0, 1) drawn per row of the batch (sentence k of a row takes
    /// draws k·K ..< (k+1)·K of the row's stream, so it does not depend on how many sentences other rows
    /// have); without one (evaluation) it is softmax(logits / τ), deterministic.
    public func callAsFunction(_ x: Tensor, temperature: Float, key: RandomKey?) throws -> (output: Tensor, logits: Tensor) {
        let logits = try x.matmul(codebook, transposeOther: true)
        let soft = try key.map { try logits.gumbelSoftmax(tau: temperature, hard: false, key: $0) } ?? (logits / temperature).softmax(axis: -1)
        return (try soft.matmul(codebook), logits)
    }
}

/// The local alignment module (§2.4): single-head cross-attention both ways between local image tokens
/// and sentences, with a sigmoid in place of the softmax (no normalisation over keys), scale 1/√E.
public final class LocalAlignment: Module {
    public let imageQuery: Linear, imageKey: Linear, imageValue: Linear  // q1, k1, v1 on image tokens
    public let textQuery: Linear, textKey: Linear, textValue: Linear  // q2, k2, v2 on sentences

    public init(dim: Int, rng: inout RNG) {
        imageQuery = Linear(dim, dim, rng: &rng)
        imageKey = Linear(dim, dim, rng: &rng)
        imageValue = Linear(dim, dim, rng: &rng)
        textQuery = Linear(dim, dim, rng: &rng)
        textKey = Linear(dim, dim, rng: &rng)
        textValue = Linear(dim, dim, rng: &rng)
    }

    /// image (B, N, E), sentences (B, S, E) with mask (B, S) -> the image content gathered for each
    /// sentence (B, S, E) and the text content gathered for each image token (B, N, E), with the sigmoid
    /// maps A1 (B, S, N) (sentence queries over image keys) and A2 (B, N, S) (padded sentences zeroed).
    public func callAsFunction(image: Tensor, sentences: Tensor, mask: Tensor)
        throws -> (textContext: Tensor, imageContext: Tensor, sentenceMap: Tensor, imageMap: Tensor) {
        let (b, s, e) = (sentences.shape[0], sentences.shape[1], sentences.shape[2])
        let scale = 1 / Float(e).squareRoot()
        let a1 = try (textQuery(sentences).matmul(imageKey(image), transposeOther: true) * scale).sigmoid()  // (B, S, N)
        let a2 = try (imageQuery(image).matmul(textKey(sentences), transposeOther: true) * scale).sigmoid() * mask.reshaped([b, 1, s])  // (B, N, S)
        return (try a1.matmul(imageValue(image)), try a2.matmul(textValue(sentences)), a1, a2)
    }
}

/// The image decoder of stage 3 (§2.5): per block, nearest upsampling ×2, then twice Conv3×3 (no bias),
/// BatchNorm, ReLU; a Conv3×3 head with bias to the image's channels. No skip connections.
public final class ImageDecoder: Module {
    public final class Block: Module {
        public let conv1: Conv2d, bn1: BatchNorm, conv2: Conv2d, bn2: BatchNorm

        init(_ input: Int, _ output: Int, rng: inout RNG) {
            conv1 = Conv2d(input, output, kernel: 3, padding: 1, bias: false, rng: &rng)
            bn1 = BatchNorm(output)
            conv2 = Conv2d(output, output, kernel: 3, padding: 1, bias: false, rng: &rng)
            bn2 = BatchNorm(output)
        }

        func callAsFunction(_ x: Tensor) throws -> Tensor {
            let h = try bn1(conv1(x.upsampleNearest2d(factor: 2))).relu()
            return try bn2(conv2(h)).relu()
        }
    }

    public let blocks: [Block]
    public let head: Conv2d

    public init(inputChannels: Int, channels: [Int], outputChannels: Int, rng: inout RNG) {
        var blocks: [Block] = []
        var c = inputChannels
        for out in channels {
            blocks.append(Block(c, out, rng: &rng))
            c = out
        }
        self.blocks = blocks
        head = Conv2d(c, outputChannels, kernel: 3, padding: 1, rng: &rng)
    }

    /// z (B, Cin, g, g) -> (B, C, g·2^blocks, g·2^blocks)
    public func callAsFunction(_ z: Tensor) throws -> Tensor {
        var h = z
        for block in blocks { h = try block(h) }
        return try head(h)
    }
}

/// The sentence decoder of stage 3 (§2.5): learned queries plus BERT's embeddings (learned positions and
/// the token-type-0 vector), LayerNorm (eps 1e-12), dropout, then post-LN layers — self-attention (causal
/// only with `causal`, pitfall R3), cross-attention to the local image tokens, FFN with exact GELU — the
/// same layer as M3AE's co-attention fusion.
public final class SentenceDecoder: Module {
    public let queries: Tensor  // (Q, E), N(0, 1)
    public let positionEmbedding: Tensor  // (Q, E)
    public let typeEmbedding: Tensor  // (E)
    public let norm: LayerNorm
    public let layers: [CoAttentionLayer]
    public let dropout: Float
    public let causal: Bool

    public init(queries q: Int, dim: Int, layers depth: Int, heads: Int, mlpRatio: Float, dropout: Float, causal: Bool, rng: inout RNG) {
        queries = Init.normal([q, dim], std: 1, rng: &rng)
        positionEmbedding = Init.normal([q, dim], std: 0.02, rng: &rng)
        typeEmbedding = Init.normal([dim], std: 0.02, rng: &rng)
        norm = LayerNorm(dim, eps: 1e-12)
        layers = (0..<depth).map { _ in
            CoAttentionLayer(width: dim, heads: heads, mlpRatio: mlpRatio, dropout: dropout, attentionDropout: dropout, rng: &rng)
        }
        self.dropout = dropout
        self.causal = causal
    }

    /// image tokens (B, N, E) -> generated sentence features (B, Q, E).
    public func callAsFunction(image: Tensor, keys: FusionDropoutKeys) throws -> Tensor {
        let (b, q, e) = (image.shape[0], queries.shape[0], queries.shape[1])
        var x = try norm((queries + positionEmbedding + typeEmbedding).reshaped([1, q, e]).expanded(to: [b, q, e]))
        if let key = keys.key(0), dropout > 0 { x = try x.dropout(dropout, training: true, key: key) }
        for (i, layer) in layers.enumerated() {
            x = try layer(x, padding: nil, other: image, otherPadding: nil, keys: keys, site: 1 + 5 * i, causal: causal)
        }
        return x
    }
}

/// The SimSiam predictor of the local image loss: Linear(E → E/2), ReLU, Linear(E/2 → E).
public final class Predictor: Module {
    public let fc1: Linear, fc2: Linear

    public init(dim: Int, rng: inout RNG) {
        fc1 = Linear(dim, dim / 2, std: 1 / Float(dim).squareRoot(), rng: &rng)
        fc2 = Linear(dim / 2, dim, rng: &rng)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor { try fc2(fc1(x).relu()) }
}

public final class PRIORModel: Module {
    public let config: PRIORConfig
    public let visual: ResNet
    public let attentionPool: AttentionPool2d  // C -> C ("no output change")
    public let globalImageProjection: Linear  // C -> E
    public let localImageProjection: Linear  // C -> E
    public let text: TextEncoder
    public let localTextProjection: Linear  // textWidth -> E
    public let sentencePool: SentenceAttentionPool
    public let predictor: Predictor
    public let local: LocalAlignment
    public let prototypes: SentencePrototypeBank
    public let logitScale: LogitScale
    public let localLogitScale: LogitScale
    public let imageDecoder: ImageDecoder
    public let sentenceDecoder: SentenceDecoder
    /// The last stage this model trained in (0, 1, 2), so evaluation knows whether sentences go through
    /// the prototype bank; kept in checkpoints.
    public let trainedStage: Buffer

    /// The modules each stage trains (later stages add to earlier ones); what a stage does not use gets no
    /// gradient, so the optimizer leaves it alone (no decay, no moments), as PyTorch skips unused parameters.
    public static let stageModules: [[String]] = [
        ["visual", "attentionPool", "globalImageProjection", "localImageProjection", "text", "localTextProjection", "sentencePool",
         "predictor", "local", "logitScale", "localLogitScale"],
        ["prototypes"],
        ["imageDecoder", "sentenceDecoder"],
    ]

    public init(config: PRIORConfig, seed: UInt64) {
        self.config = config
        var rng = RNG(seed: seed, "init.prior")
        let c = config.imageChannelsOut, e = config.embedDim
        visual = ResNet(kind: config.resnetKind, blocks: config.resnetBlocks, width: config.resnetWidth, inChannels: config.imageChannels, rng: &rng)
        attentionPool = AttentionPool2d(spatial: config.grid, channels: c, heads: config.poolHeads, outDim: c, rng: &rng)
        globalImageProjection = Linear(c, e, std: 1 / Float(c).squareRoot(), rng: &rng)
        localImageProjection = Linear(c, e, std: 1 / Float(c).squareRoot(), rng: &rng)
        text = TextEncoder(vocabSize: config.vocabSize, contextLength: config.contextLength, width: config.textWidth, depth: config.textDepth,
                           heads: config.textHeads, mlpRatio: config.mlpRatio, options: config.textOptions, rng: &rng)
        localTextProjection = Linear(config.textWidth, e, std: 1 / Float(config.textWidth).squareRoot(), rng: &rng)
        sentencePool = SentenceAttentionPool(dim: e, heads: config.sentencePoolHeads, rng: &rng)
        predictor = Predictor(dim: e, rng: &rng)
        local = LocalAlignment(dim: e, rng: &rng)
        prototypes = SentencePrototypeBank(count: config.prototypes, dim: e, rng: &rng)
        logitScale = LogitScale(initialTemperature: config.initialTemperature)
        localLogitScale = LogitScale(initialTemperature: config.localTemperature)
        imageDecoder = ImageDecoder(inputChannels: 2 * e, channels: config.imageDecoderChannels, outputChannels: config.imageChannels, rng: &rng)
        sentenceDecoder = SentenceDecoder(queries: config.queries, dim: e, layers: config.sentenceDecoderLayers, heads: config.sentenceDecoderHeads,
                                          mlpRatio: config.mlpRatio, dropout: config.decoderDropout, causal: config.sentenceDecoderCausal, rng: &rng)
        trainedStage = Buffer(Tensor.zeros([1]))
    }

    /// images (B, C, H, W) -> the pooled feature (B, C), the global feature (B, E) before normalisation
    /// and the local tokens (B, g², E): the feature map flattened over positions (row-major) and
    /// transposed to (position, channel) before the projection.
    public func encodeImages(_ images: Tensor) throws -> (pooled: Tensor, global: Tensor, local: Tensor) {
        let map = try visual(images)
        let (b, c) = (map.shape[0], map.shape[1])
        let positions = map.count / Swift.max(b * c, 1)
        let pooled = try attentionPool(map).pooled
        let tokens = try map.reshaped([b, c, positions]).transposed(1, 2)
        return (pooled, try globalImageProjection(pooled), try localImageProjection(tokens))
    }

    /// Sentence features (B, S, E): the mean of each sentence's projected tokens, for the first `counts[i]`
    /// sentences of row i (S = the largest count, at least 1; rows padded with zeros, `mask` 0).
    public func sentenceFeatures(ids: IndexTensor, padding: Tensor, sentenceIDs: IndexTensor, counts: [Int]) throws -> (sentences: Tensor, mask: Tensor) {
        let (b, t) = (ids.shape[0], ids.shape[1])
        let s = Swift.max(counts.max() ?? 0, 1)
        let tokens = try localTextProjection(text(ids, padding: padding))  // (B, T, E)
        var lengths = [Float](repeating: 0, count: b * s)
        let owner = sentenceIDs.values
        for i in 0..<b { for j in 0..<t { let k = Int(owner[i * t + j]); if k >= 0 && k < counts[i] { lengths[i * s + k] += 1 } } }
        var pool = [Float](repeating: 0, count: b * s * t)
        for i in 0..<b {
            for j in 0..<t {
                let k = Int(owner[i * t + j])
                if k >= 0 && k < counts[i] { pool[(i * s + k) * t + j] = 1 / lengths[i * s + k] }
            }
        }
        let mask = (0..<(b * s)).map { Float($0 % s < counts[$0 / s] && lengths[$0] > 0 ? 1 : 0) }
        return (try Tensor(shape: [b, s, t], values: pool).matmul(tokens), Tensor(shape: [b, s], values: mask))
    }
}
