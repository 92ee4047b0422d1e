// Contrastive language-image pretraining for chest X-rays (CLIP; ConVIRT with a ResNet): an image
// encoder and a report encoder, linear projections to a shared space, L2 normalisation, and symmetric
// InfoNCE with a learnable temperature over negatives gathered from every rank.
import CarinaDist
import CarinaNN

/// The report encoder: token and position embeddings, a bidirectional transformer, [CLS] pooling. Carina's
/// own tower is pre-norm with a final LayerNorm; `TextEncoderOptions` makes it BERT or RoBERTa exactly as HF
/// transformers computes them (post-norm blocks, token-type embeddings, an embedding LayerNorm, eps 1e-12,
/// RoBERTa's positions after the padding index, the optional pooler), or OpenAI CLIP's text transformer
/// (Carina's pre-norm tower with a causal mask, read at the end-of-text token).
public final class TextEncoder: Module {
    public let tokenEmbedding: Embedding
    public let positionEmbedding: Tensor  // (P, C): P = options.positions, or the context length
    /// BERT's token_type_embeddings (types, C); every report is segment 0 (HF's default token_type_ids).
    public let tokenTypeEmbedding: Tensor?
    /// BERT's embeddings.LayerNorm, on the summed embeddings before the first block.
    public let embeddingNorm: LayerNorm?
    public let encoder: Transformer
    /// BERT's pooler: tanh(dense([CLS])) is the sequence's feature when present.
    public let pooler: Linear?
    public let options: TextEncoderOptions
    override public var weightDecayExempt: Set<String> { ["positionEmbedding", "tokenTypeEmbedding"] }

    public init(vocabSize: Int, contextLength: Int, width: Int, depth: Int, heads: Int, mlpRatio: Float,
                options: TextEncoderOptions = TextEncoderOptions(), rng: inout RNG) {
        self.options = options
        let rows = options.positions ?? contextLength
        switch options.architecture {
        case .carina, .clip:
            tokenEmbedding = Embedding(vocabSize, width, std: 0.02, rng: &rng)
            positionEmbedding = Init.truncatedNormal([rows, width], std: 0.01, rng: &rng)
            tokenTypeEmbedding = nil
            embeddingNorm = nil
            encoder = Transformer(dim: width, depth: depth, heads: heads, mlpRatio: mlpRatio, hidden: options.hidden,
                                  activation: options.activation, eps: options.eps ?? 1e-5, rng: &rng)
        case .bert, .roberta:
            // BERT's initialisation: N(0, 0.02) for embeddings and matrices, zero biases, unit LayerNorms.
            tokenEmbedding = Embedding(vocabSize, width, std: 0.02, rng: &rng)
            positionEmbedding = Init.truncatedNormal([rows, width], std: 0.02, rng: &rng)
            tokenTypeEmbedding = Init.truncatedNormal([options.tokenTypes, width], std: 0.02, rng: &rng)
            embeddingNorm = LayerNorm(width, eps: options.eps ?? 1e-12)
            encoder = Transformer(dim: width, depth: depth, heads: heads, mlpRatio: mlpRatio, hidden: options.hidden,
                                  eps: options.eps ?? 1e-12, postNorm: true, rng: &rng)
        }
        pooler = options.pooler ? Linear(width, width, std: 0.02, rng: &rng) : nil
    }

    /// Where a sequence's feature is read: a bidirectional encoder reads its [CLS] token at position 0, the
    /// causal CLIP tower its end-of-text token (prompt learners ask the tower rather than assume).
    public var readout: TextReadout { options.architecture == .clip ? .endOfText : .first }

    /// Whether each token attends only to itself and the tokens before it (CLIP's text transformer).
    public var causal: Bool { options.architecture == .clip }

    /// The longest sequence the position table covers (RoBERTa's first padding index + 1 rows are not
    /// positions of tokens).
    public var maxLength: Int {
        options.architecture == .roberta ? positionEmbedding.shape[0] - options.paddingIndex - 1 : positionEmbedding.shape[0]
    }

    /// ids (B, T) with [CLS] at position 0; padding (B, T) 1 = token, 0 = pad -> tokens (B, T, C)
    public func callAsFunction(_ ids: IndexTensor, padding: Tensor?) throws -> Tensor {
        guard ids.shape.count == 2, ids.shape[1] <= maxLength else {
            throw TensorError.shapeMismatch(op: "text_encoder", shapes: [ids.shape, positionEmbedding.shape],
                                            detail: "token ids must be (B, T) with T at most the \(maxLength) positions")
        }
        return try callAsFunction(embeddings: tokenEmbedding(ids), padding: padding)
    }

    /// Input embeddings (B, T, C) in place of token ids (prompt learning writes some of them) -> tokens
    /// (B, T, C); position (and token-type) embeddings are added here.
    public func callAsFunction(embeddings x: Tensor, padding: Tensor?) throws -> Tensor {
        guard x.rank == 3, x.shape[1] <= maxLength, x.shape[2] == positionEmbedding.shape[1] else {
            throw TensorError.shapeMismatch(op: "text_encoder", shapes: [x.shape, positionEmbedding.shape],
                                            detail: "input embeddings must be (B, T, width) with T at most the \(maxLength) positions")
        }
        let (b, t, c) = (x.shape[0], x.shape[1], x.shape[2])
        if let padding, padding.shape != [b, t] {
            throw TensorError.shapeMismatch(op: "text_encoder", shapes: [padding.shape, [b, t]], detail: "the padding mask must be (B, T)")
        }
        guard let tokenTypeEmbedding, let embeddingNorm else {
            return try encoder(x + positionEmbedding.slice(axis: 0, 0, t), keyPadding: padding, causal: causal)
        }
        let positions: Tensor  // (T, C) or (B, T, C)
        switch options.architecture {
        case .roberta: positions = try positionEmbedding.embedding(robertaPositionIDs(batch: b, length: t, padding: padding))
        default: positions = try positionEmbedding.slice(axis: 0, 0, t)
        }
        let segment = try tokenTypeEmbedding.slice(axis: 0, 0, 1).reshaped([c])  // (C): token type 0
        return try encoder(embeddingNorm(x + positions + segment), keyPadding: padding)
    }

    /// RoBERTa's position ids (HF's create_position_ids_from_input_ids): a token's 1-based rank among the
    /// row's tokens plus the padding index; padding itself takes the padding index. Carina's tokenizers pad
    /// exactly where the mask is 0, so the mask stands for HF's `input_ids != padding_idx`.
    func robertaPositionIDs(batch b: Int, length t: Int, padding: Tensor?) -> IndexTensor {
        let p = Int32(options.paddingIndex)
        var ids = [Int32](repeating: p, count: b * t)
        for row in 0..<b {
            var rank: Int32 = 0
            for i in 0..<t where padding.map({ $0.pointer[row * t + i] != 0 }) ?? true {
                rank += 1
                ids[row * t + i] = p + rank
            }
        }
        return IndexTensor(shape: [b, t], values: ids)
    }

    /// Each row's last token position under a padding mask (B, T) (1 = token): HF's end-of-text position (the
    /// first <|endoftext|>, or the argmax id for old configs) for every text a tokenizer ends with it and pads
    /// after. Without a mask, the last position.
    public static func lastTokens(_ shape: [Int], padding: Tensor?) -> [Int] {
        let (b, t) = (shape[0], shape[1])
        guard let padding else { return [Int](repeating: t - 1, count: b) }
        return (0..<b).map { row in (0..<t).last { padding.pointer[row * t + $0] != 0 } ?? 0 }
    }

    /// The sequence feature from the [CLS] rows (B, C): through the pooler when there is one.
    public func pooled(_ first: Tensor) throws -> Tensor {
        guard let pooler else { return first }
        return try pooler(first).tanh()
    }
}

/// Which report encoder a config builds.
public enum TextArchitecture: String, Sendable, Codable, CaseIterable {
    /// Carina's own: pre-norm blocks, a final LayerNorm, learned positions.
    case carina
    /// OpenAI CLIP's text transformer as HF transformers' CLIPTextModel computes it: Carina's pre-norm tower
    /// with a causal mask (and the padding mask), read at the end-of-text token.
    case clip
    /// BERT as HF transformers' BertModel: post-norm blocks, word + position + token-type embeddings and
    /// their LayerNorm, exact GELU, LayerNorm eps from the model (1e-12).
    case bert
    /// RoBERTa as HF's RobertaModel: BERT with position ids counted after the padding index.
    case roberta
}

/// The report encoder's architecture options beyond its sizes.
public struct TextEncoderOptions: Sendable, Equatable {
    public var architecture: TextArchitecture
    /// Rows of the position table (BERT's max_position_embeddings); nil: the context length.
    public var positions: Int?
    /// The MLP's hidden width (BERT's intermediate_size); nil: width x mlpRatio.
    public var hidden: Int?
    /// LayerNorm epsilon; nil: 1e-5 for Carina's tower, 1e-12 for BERT and RoBERTa.
    public var eps: Float?
    /// bert/roberta: rows of the token-type table (type_vocab_size).
    public var tokenTypes: Int
    /// roberta: the padding index (pad_token_id) after which positions are counted.
    public var paddingIndex: Int
    /// bert/roberta: read the feature through BERT's pooler (dense + tanh on [CLS]).
    public var pooler: Bool
    /// carina/clip: the MLPs' nonlinearity (OpenAI CLIP: QuickGELU); BERT and RoBERTa use exact GELU.
    public var activation: Activation

    public init(architecture: TextArchitecture = .carina, positions: Int? = nil, hidden: Int? = nil, eps: Float? = nil,
                tokenTypes: Int = 2, paddingIndex: Int = 1, pooler: Bool = false, activation: Activation = .gelu) {
        self.activation = activation
        self.architecture = architecture
        self.positions = positions
        self.hidden = hidden
        self.eps = eps
        self.tokenTypes = tokenTypes
        self.paddingIndex = paddingIndex
        self.pooler = pooler
    }
}

/// Which position of a text tower's output is the sequence's feature.
public enum TextReadout: Sendable, Equatable {
    /// Position 0 ([CLS] of a bidirectional encoder).
    case first
    /// The end-of-text token (a causal tower: the last real token).
    case endOfText
}

public final class CLIPModel: Module {
    public let config: CLIPConfig
    public let visual: ViT?
    public let resnet: ResNet?
    public let attentionPool: AttentionPool2d?
    public let text: TextEncoder
    /// visual width -> E, no bias; nil for CLIP's modified ResNet, whose attention pool ends in the shared space.
    public let imageProjection: Linear?
    public let textProjection: Linear  // text width -> E, no bias
    public let logitScale: LogitScale

    public init(config: CLIPConfig, seed: UInt64) {
        self.config = config
        var rng = RNG(seed: seed, "init.clip")
        (visual, resnet, attentionPool) = CLIPModel.makeImageEncoder(config, rng: &rng)
        let visualWidth = config.imageFeatureWidth
        text = TextEncoder(vocabSize: config.vocabSize, contextLength: config.contextLength, width: config.textWidth,
                           depth: config.textDepth, heads: config.textHeads, mlpRatio: config.mlpRatio, options: config.textOptions, rng: &rng)
        imageProjection = config.poolIsEmbedding ? nil
            : Linear(visualWidth, config.embedDim, bias: false, std: 1 / Float(visualWidth).squareRoot(), rng: &rng)
        textProjection = Linear(config.textWidth, config.embedDim, bias: false, std: 1 / Float(config.textWidth).squareRoot(), rng: &rng)
        logitScale = LogitScale(initialTemperature: config.initialTemperature)
    }

    /// The image encoder of a config: a ViT, or a ResNet with CLIP's attention pooling to `visionWidth`.
    /// Fine-tuning builds the same modules under the same names, so it can start from CLIP's weights.
    public static func makeImageEncoder(_ config: CLIPConfig, rng: inout RNG) -> (ViT?, ResNet?, AttentionPool2d?) {
        switch config.imageEncoder {
        case .vit:
            return (ViT(imageSize: config.imageSize, patchSize: config.patchSize, channels: config.imageChannels,
                        width: config.visionWidth, depth: config.visionDepth, heads: config.visionHeads, mlpRatio: config.mlpRatio,
                        activation: config.visionActivation, patchBias: config.patchBias, preNorm: config.preNorm, rng: &rng), nil, nil)
        case .resnet:
            let net = ResNet(kind: .bottleneck, blocks: config.resnetBlocks, width: config.resnetWidth,
                             inChannels: config.imageChannels, style: config.resnetStyle, rng: &rng)
            // torchvision's stem rounds odd sizes up (padded max pool), CLIP's average pools round down.
            let grid = config.resnetStyle == .clip ? config.imageSize / 32 : (config.imageSize + 31) / 32
            return (nil, net, AttentionPool2d(spatial: grid, channels: net.outChannels, heads: config.visionHeads,
                                              outDim: config.imageFeatureWidth, fused: config.resnetStyle == .clip, rng: &rng))
        }
    }

    /// The pooled image feature (B, visionWidth): the ViT's class token, or the ResNet's attention pool.
    public static func imageFeatures(_ images: Tensor, visual: ViT?, resnet: ResNet?, attentionPool: AttentionPool2d?, width: Int) throws -> Tensor {
        if let visual { return try visual(images).slice(axis: 1, 0, 1).reshaped([images.shape[0], width]) }
        guard let resnet, let attentionPool else {
            throw TensorError.invalidArgument(op: "image_encoder", detail: "no image encoder was built")
        }
        return try attentionPool(resnet(images)).pooled
    }

    /// images (B, C, H, W) -> L2-normalised embeddings (B, E)
    public func embedImages(_ images: Tensor) throws -> Tensor {
        let pooled = try CLIPModel.imageFeatures(images, visual: visual, resnet: resnet, attentionPool: attentionPool, width: config.imageFeatureWidth)
        return try (imageProjection.map { try $0(pooled) } ?? pooled).l2Normalized()
    }

    /// ids (B, T), padding (B, T) -> L2-normalised embeddings (B, E), pooled at [CLS]
    public func embedText(_ ids: IndexTensor, padding: Tensor?) throws -> Tensor {
        try textFeatures(ids, padding: padding).l2Normalized()
    }

    /// ids (B, T), padding (B, T) -> projected text features (B, E) before normalisation. A tower read at
    /// end-of-text reads each row's last token (Carina's tokenizers end every text with it, padding after).
    public func textFeatures(_ ids: IndexTensor, padding: Tensor?) throws -> Tensor {
        try textFeatures(embeddings: text.tokenEmbedding(ids), padding: padding,
                         endOfText: text.readout == .endOfText ? TextEncoder.lastTokens(ids.shape, padding: padding) : nil)
    }

    /// Input embeddings (B, T, textWidth) -> projected features (B, E) before normalisation, read where
    /// the tower reads (`text.readout`); `endOfText` gives each row's end-of-text position for a tower that
    /// reads there.
    public func textFeatures(embeddings: Tensor, padding: Tensor?, endOfText: [Int]?) throws -> Tensor {
        let tokens = try text(embeddings: embeddings, padding: padding)
        let (b, t, w) = (tokens.shape[0], tokens.shape[1], tokens.shape[2])
        let rows: [Int]
        switch text.readout {
        case .first: rows = (0..<b).map { $0 * t }
        case .endOfText:
            guard let endOfText, endOfText.count == b, endOfText.allSatisfy({ (0..<t).contains($0) }) else {
                throw TensorError.invalidArgument(op: "text_features", detail: "a tower read at end-of-text needs its position in each of the \(b) rows")
            }
            rows = (0..<b).map { $0 * t + endOfText[$0] }
        }
        return try textProjection(text.pooled(tokens.reshaped([b * t, w]).indexSelect(axis: 0, rows)))
    }

    /// Image tokens for dense, per-position scoring (PsPG's Spatial Fusion), in the shared space before
    /// normalisation: the global feature (B, E) and one feature per position (B, N, E) — the ViT's patch
    /// tokens through its final norm and the image projection; for a ResNet, each position of the
    /// attention pool's input through the pool's value, output and final projections without attention
    /// (MaskCLIP). Positions in row-major order of the patch grid / feature map.
    public func imageTokens(_ images: Tensor) throws -> (global: Tensor, dense: Tensor) {
        let b = images.shape[0]
        if let visual {
            let tokens = try visual(images)  // (B, 1 + N, W)
            let n = tokens.shape[1] - 1
            let projected = try imageProjection.map { try $0(tokens) } ?? tokens
            return (try projected.slice(axis: 1, 0, 1).reshaped([b, config.embedDim]), try projected.slice(axis: 1, 1, 1 + n))
        }
        guard let resnet, let attentionPool else {
            throw TensorError.invalidArgument(op: "image_tokens", detail: "no image encoder was built")
        }
        let (pooled, positions) = try attentionPool(resnet(images))
        let dense = try attentionPool.denseFeatures(positions)
        guard let imageProjection else { return (pooled, dense) }
        return (try imageProjection(pooled), try imageProjection(dense))
    }

    /// Symmetric InfoNCE of this rank's batch against the embeddings of every rank's batch (local-loss
    /// form, normalised by the global batch: the per-rank losses sum to the one-process loss).
    public func loss(images: Tensor, ids: IndexTensor, padding: Tensor?, communicator: Communicator) throws -> Tensor {
        let image = try embedImages(images), report = try embedText(ids, padding: padding)
        let b = image.shape[0]
        let allImage = try communicator.allGatherWithGradient(image)
        let allText = try communicator.allGatherWithGradient(report)
        return try InfoNCE.loss(image: image, text: report, allImage: allImage, allText: allText,
                                rowOffset: communicator.rank * b, globalBatch: communicator.size * b, scale: logitScale()).loss
    }
}
