// Vision Transformer (Dosovitskiy et al.) for grayscale or RGB radiographs: non-overlapping patches
// projected linearly (the same map as a Conv2d with kernel = stride = patch), a class token, learned
// positional embeddings, pre-norm blocks and a final LayerNorm. Optionally encodes only a subset of the
// patches per sample (M3AE's visible 25%).

public final class ViT: Module {
    public let patchEmbed: Linear  // (C·p·p) -> W, input pixels in (channel, row, col) order
    public let classToken: Tensor  // (W)
    public let positionEmbedding: Tensor  // (1 + N, W), row 0 for the class token
    /// OpenAI CLIP's `ln_pre`: a LayerNorm on the whole sequence before the blocks (nil: none).
    public let preNorm: LayerNorm?
    public let encoder: Transformer

    public let imageSize: Int
    public let patchSize: Int
    public let channels: Int
    public let width: Int

    override public var weightDecayExempt: Set<String> { ["classToken", "positionEmbedding"] }

    /// Patches per side and in total.
    public var grid: Int { imageSize / patchSize }
    public var patchCount: Int { grid * grid }

    /// `patchBias: false` and `preNorm: true` build OpenAI CLIP's visual tower (a bias-free patch convolution,
    /// `ln_pre`); the defaults are timm's ViT.
    public init(imageSize: Int, patchSize: Int, channels: Int = 1, width: Int, depth: Int, heads: Int,
                mlpRatio: Float = 4, activation: Activation = .gelu, patchBias: Bool = true, preNorm: Bool = false, rng: inout RNG) {
        precondition(imageSize % patchSize == 0, "image size \(imageSize) is not a multiple of patch size \(patchSize)")
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.channels = channels
        self.width = width
        let n = (imageSize / patchSize) * (imageSize / patchSize)
        patchEmbed = Linear(channels * patchSize * patchSize, width, bias: patchBias, std: 0.02, rng: &rng)
        classToken = Init.truncatedNormal([width], std: 0.02, rng: &rng)
        positionEmbedding = Init.truncatedNormal([1 + n, width], std: 0.02, rng: &rng)
        self.preNorm = preNorm ? LayerNorm(width) : nil
        encoder = Transformer(dim: width, depth: depth, heads: heads, mlpRatio: mlpRatio, activation: activation, rng: &rng)
    }

    /// images (B, C, H, W) -> patches (B, N, C·p·p), each patch's pixels in (channel, row, col) order.
    public func patchify(_ images: Tensor) throws -> Tensor {
        guard images.rank == 4, images.shape[1] == channels, images.shape[2] == imageSize, images.shape[3] == imageSize else {
            throw TensorError.shapeMismatch(op: "vit.patchify", shapes: [images.shape, [-1, channels, imageSize, imageSize]],
                                            detail: "expected images as (B, \(channels), \(imageSize), \(imageSize))")
        }
        let (b, c, g, p) = (images.shape[0], channels, grid, patchSize)
        return try images.reshaped([b, c, g, p, g, p]).permuted([0, 2, 4, 1, 3, 5]).reshaped([b, g * g, c * p * p])
    }

    /// images (B, C, H, W) -> tokens (B, 1 + K, W) after the final LayerNorm; token 0 is the class token.
    /// `keep` lists, per sample, the patch indices to encode (all samples the same count K); nil = all.
    public func callAsFunction(_ images: Tensor, keep: [[Int]]? = nil) throws -> Tensor {
        let b = images.shape.first ?? 0
        let n = patchCount
        var x = try patchEmbed(patchify(images))  // (B, N, W)
        x = try x + positionEmbedding.slice(axis: 0, 1, 1 + n)
        if let keep {
            guard keep.count == b, let k = keep.first?.count, keep.allSatisfy({ $0.count == k }) else {
                throw TensorError.invalidArgument(op: "vit", detail: "keep must list the same number of patches for each of the \(b) samples")
            }
            var rows: [Int] = []
            rows.reserveCapacity(b * k)
            for (s, idx) in keep.enumerated() {
                for i in idx {
                    guard i >= 0 && i < n else { throw TensorError.outOfRange(op: "vit", detail: "patch index \(i) outside 0..<\(n)") }
                    rows.append(s * n + i)
                }
            }
            x = try x.reshaped([b * n, width]).indexSelect(axis: 0, rows).reshaped([b, k, width])
        }
        let cls = try (classToken + positionEmbedding.slice(axis: 0, 0, 1).reshaped([width])).reshaped([1, 1, width])
            .expanded(to: [b, 1, width])
        let sequence = try Tensor.concat([cls, x], axis: 1)
        return try encoder(preNorm.map { try $0(sequence) } ?? sequence)
    }
}

extension ViT {
    /// g when `rows` = 1 + g² (a class row and a square grid), else nil.
    public static func squareGrid(rows: Int) -> Int? {
        let g = Int(Double(Swift.max(rows - 1, 0)).squareRoot().rounded())
        return rows >= 2 && g * g == rows - 1 ? g : nil
    }

    /// A position table (1 + g², W) — the class token's row, then a g × g grid in raster order — resized to
    /// a `grid` × `grid` grid as PyTorch's `F.interpolate(mode="bicubic", align_corners=False)` does (what
    /// M3AE and timm do to start a ViT at another image size): cubic convolution with A = −0.75, source
    /// coordinate (i + 0.5)·(g / grid) − 0.5, neighbours clamped to the border; the class row is kept.
    public static func resizePositionEmbedding(_ table: Tensor, toGrid grid: Int) throws -> Tensor {
        let w = table.shape.last ?? 0
        guard table.rank == 2, let g = squareGrid(rows: table.shape[0]), grid >= 1 else {
            throw TensorError.shapeMismatch(op: "resize_position_embedding", shapes: [table.shape],
                                            detail: "expected (1 + g², width) with a square grid, and a positive target grid")
        }
        if g == grid { return table.copy() }
        let a = -0.75
        func near(_ x: Double) -> Double { ((a + 2) * x - (a + 3)) * x * x + 1 }  // |x| <= 1
        func far(_ x: Double) -> Double { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }  // 1 < |x| < 2
        /// For each output index: the four source indices (clamped) and their weights.
        let scale = Double(g) / Double(grid)
        let taps: [[(Int, Double)]] = (0..<grid).map { i in
            let source = (Double(i) + 0.5) * scale - 0.5
            let base = source.rounded(.down), t = source - base
            let weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
            return (0..<4).map { k in (Swift.min(Swift.max(Int(base) - 1 + k, 0), g - 1), weights[k]) }
        }
        let v = table.scalars
        var out = [Float](repeating: 0, count: (1 + grid * grid) * w)
        for c in 0..<w { out[c] = v[c] }
        for y in 0..<grid {
            for x in 0..<grid {
                let o = (1 + y * grid + x) * w
                for c in 0..<w {
                    var sum = 0.0
                    for (sy, wy) in taps[y] {
                        var row = 0.0
                        for (sx, wx) in taps[x] { row += wx * Double(v[(1 + sy * g + sx) * w + c]) }
                        sum += wy * row
                    }
                    out[o + c] = Float(sum)
                }
            }
        }
        return Tensor(shape: [1 + grid * grid, w], values: out)
    }
}

