// ResNet (He et al.) with basic or bottleneck blocks, configurable depth and width, a 1-channel stem for
// radiographs, returning the spatial feature map; AttentionPool2d (CLIP's) turns it into one vector.
// ConVIRT uses ResNet-50 (bottleneck [3, 4, 6, 3]) as torchvision builds it; PsPG's CLIP backbone is OpenAI
// CLIP's modified ResNet (`ResNetStyle.clip`: three stem convolutions and an average pool, strides by average
// pooling, as open_clip's ModifiedResNet).

/// Which ResNet: torchvision's (a 7×7/2 stem and a max pool, strided 3×3 convolutions, strided 1×1
/// projection shortcuts: ResNet v1.5), or OpenAI CLIP's modified one.
public enum ResNetStyle: String, Sendable, Codable {
    case torchvision
    /// Three 3×3 stem convolutions (the first stride 2, to width/2, width/2, width) with BatchNorm and ReLU,
    /// then a 2×2 average pool; in a strided block the 3×3 convolution keeps stride 1 and a stride×stride
    /// average pool follows it, and the projection shortcut average-pools before its stride-1 1×1
    /// convolution ("anti-aliased" strides); bottleneck blocks only.
    case clip
}

public enum ResidualBlockKind: String, Sendable, Codable {
    case basic
    case bottleneck

    var expansion: Int { self == .basic ? 1 : 4 }
}

/// A residual block: basic (3x3, 3x3) or bottleneck (1x1, 3x3, 1x1 with 4x expansion), with a
/// projection shortcut (1x1 conv + BN) when the shape changes.
public final class ResidualBlock: Module {
    public let conv1: Conv2d
    public let bn1: BatchNorm
    public let conv2: Conv2d
    public let bn2: BatchNorm
    public let conv3: Conv2d?
    public let bn3: BatchNorm?
    public let downsample: Conv2d?
    public let downsampleBN: BatchNorm?

    /// Average-pool strides (CLIP's modified ResNet) instead of strided convolutions.
    public let antiAliased: Bool
    public let stride: Int

    public init(kind: ResidualBlockKind, inChannels: Int, planes: Int, stride: Int, antiAliased: Bool = false, rng: inout RNG) {
        let out = planes * kind.expansion
        self.antiAliased = antiAliased
        self.stride = stride
        let convStride = antiAliased ? 1 : stride
        switch kind {
        case .basic:
            conv1 = Conv2d(inChannels, planes, kernel: 3, stride: stride, padding: 1, bias: false, kaiming: true, rng: &rng)
            bn1 = BatchNorm(planes)
            conv2 = Conv2d(planes, planes, kernel: 3, padding: 1, bias: false, kaiming: true, rng: &rng)
            bn2 = BatchNorm(planes, zeroInit: true)
            conv3 = nil
            bn3 = nil
        case .bottleneck:
            conv1 = Conv2d(inChannels, planes, kernel: 1, bias: false, kaiming: true, rng: &rng)
            bn1 = BatchNorm(planes)
            conv2 = Conv2d(planes, planes, kernel: 3, stride: convStride, padding: 1, bias: false, kaiming: true, rng: &rng)
            bn2 = BatchNorm(planes)
            conv3 = Conv2d(planes, out, kernel: 1, bias: false, kaiming: true, rng: &rng)
            bn3 = BatchNorm(out, zeroInit: true)
        }
        if stride != 1 || inChannels != out {
            downsample = Conv2d(inChannels, out, kernel: 1, stride: convStride, bias: false, kaiming: true, rng: &rng)
            downsampleBN = BatchNorm(out)
        } else {
            downsample = nil
            downsampleBN = nil
        }
    }

    /// x (N, Cin, H, W) -> (N, Cout, H/stride, W/stride)
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        var h = try bn1(conv1(x)).relu()
        h = try bn2(conv2(h))
        if let conv3, let bn3 {
            h = h.relu()
            if antiAliased && stride > 1 { h = try h.avgPool2d(kernel: stride) }
            h = try bn3(conv3(h))
        }
        let pooled = antiAliased && stride > 1 ? try x.avgPool2d(kernel: stride) : x
        let shortcut = try downsample.map { try downsampleBN!($0(pooled)) } ?? x
        return try (h + shortcut).relu()
    }
}

public final class ResNet: Module {
    /// The stem: torchvision's 7×7/2 convolution, or CLIP's first 3×3/2 one (then `stem2`, `stem3`).
    public let stem: Conv2d
    public let stemBN: BatchNorm
    public let stem2: Conv2d?
    public let stem2BN: BatchNorm?
    public let stem3: Conv2d?
    public let stem3BN: BatchNorm?
    public let layers: [ResidualBlock]
    public let outChannels: Int
    public let style: ResNetStyle

    /// `blocks` per stage (ResNet-18: basic [2,2,2,2]; ResNet-50: bottleneck [3,4,6,3]); stage widths
    /// double from `width` (64 in the paper). Stages after the first downsample by 2.
    public init(kind: ResidualBlockKind, blocks: [Int], width: Int = 64, inChannels: Int = 1, style: ResNetStyle = .torchvision, rng: inout RNG) {
        precondition(style == .torchvision || kind == .bottleneck, "CLIP's modified ResNet has bottleneck blocks")
        self.style = style
        switch style {
        case .torchvision:
            stem = Conv2d(inChannels, width, kernel: 7, stride: 2, padding: 3, bias: false, kaiming: true, rng: &rng)
            stemBN = BatchNorm(width)
            (stem2, stem2BN, stem3, stem3BN) = (nil, nil, nil, nil)
        case .clip:
            let half = Swift.max(width / 2, 1)
            stem = Conv2d(inChannels, half, kernel: 3, stride: 2, padding: 1, bias: false, kaiming: true, rng: &rng)
            stemBN = BatchNorm(half)
            stem2 = Conv2d(half, half, kernel: 3, padding: 1, bias: false, kaiming: true, rng: &rng)
            stem2BN = BatchNorm(half)
            stem3 = Conv2d(half, width, kernel: 3, padding: 1, bias: false, kaiming: true, rng: &rng)
            stem3BN = BatchNorm(width)
        }
        var layers: [ResidualBlock] = []
        var channels = width
        for (stage, count) in blocks.enumerated() {
            let planes = width << stage
            for i in 0..<count {
                let stride = (stage > 0 && i == 0) ? 2 : 1
                layers.append(ResidualBlock(kind: kind, inChannels: channels, planes: planes, stride: stride, antiAliased: style == .clip, rng: &rng))
                channels = planes * kind.expansion
            }
        }
        self.layers = layers
        outChannels = channels
    }

    /// images (N, Cin, H, W) -> feature map (N, Cout, H/32, W/32) (ceil-rounded for odd sizes with
    /// torchvision's stem; CLIP's average pools floor, as PyTorch's)
    public func callAsFunction(_ images: Tensor) throws -> Tensor {
        var h: Tensor
        if let stem2, let stem2BN, let stem3, let stem3BN {
            h = try stemBN(stem(images)).relu()
            h = try stem2BN(stem2(h)).relu()
            h = try stem3BN(stem3(h)).relu().avgPool2d(kernel: 2)
        } else {
            h = try stemBN(stem(images)).relu().maxPool2d(kernel: 3, stride: 2, padding: 1)
        }
        for block in layers { h = try block(h) }
        return h
    }
}

/// CLIP's attention pooling: the feature map's positions become tokens, their mean is prepended as the
/// query token, positional embeddings are added, and one multi-head attention of the mean token over
/// all tokens gives the pooled vector, projected to `outDim`.
public final class AttentionPool2d: Module {
    public let positionEmbedding: Tensor  // (1 + HW, C)
    public let attention: CrossAttention
    /// C -> outDim after the attention's own output projection; nil when that projection maps to outDim
    /// itself (`fused`: OpenAI CLIP's pool, whose `c_proj` is the attention's output projection).
    public let outProj: Linear?
    public let outDim: Int
    override public var weightDecayExempt: Set<String> { ["positionEmbedding"] }

    public init(spatial: Int, channels: Int, heads: Int, outDim: Int, fused: Bool = false, rng: inout RNG) {
        positionEmbedding = parameter(Tensor.normal([1 + spatial * spatial, channels],
                                                    std: 1 / Float(channels).squareRoot(), rng: &rng))
        attention = CrossAttention(dim: channels, heads: heads, outDim: fused ? outDim : nil, std: nil, rng: &rng)
        outProj = fused ? nil : Linear(channels, outDim, rng: &rng)
        self.outDim = outDim
    }

    /// Position tokens (N, HW, C) (the second output of a call) through the value and output projections
    /// without attention: MaskCLIP's dense features, (N, HW, outDim).
    public func denseFeatures(_ tokens: Tensor) throws -> Tensor {
        let projected = try attention.proj(attention.value(tokens))
        return try outProj.map { try $0(projected) } ?? projected
    }

    /// featureMap (N, C, H, W) -> (pooled (N, outDim), tokens (N, HW, C) with positions added)
    public func callAsFunction(_ featureMap: Tensor) throws -> (pooled: Tensor, tokens: Tensor) {
        let (n, c) = (featureMap.shape[0], featureMap.shape[1])
        let hw = featureMap.count / Swift.max(n * c, 1)
        guard positionEmbedding.shape[0] == hw + 1, positionEmbedding.shape[1] == c else {
            throw TensorError.shapeMismatch(op: "attention_pool", shapes: [featureMap.shape, positionEmbedding.shape],
                                            detail: "feature map does not match the pool's \(positionEmbedding.shape[0] - 1) positions of \(positionEmbedding.shape[1]) channels")
        }
        let tokens = try featureMap.reshaped([n, c, hw]).transposed(1, 2)  // (N, HW, C)
        let mean = try tokens.mean(axis: 1, keepDims: true)  // (N, 1, C)
        let all = try Tensor.concat([mean, tokens], axis: 1) + positionEmbedding  // (N, 1 + HW, C)
        let query = try all.slice(axis: 1, 0, 1)  // (N, 1, C)
        let attended = try attention(query, context: all)
        let pooled = try attended.reshaped([n, attended.shape[2]])
        return (try outProj.map { try $0(pooled) } ?? pooled, try all.slice(axis: 1, 1, 1 + hw))
    }
}
