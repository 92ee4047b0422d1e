// PsPG's prompt decoder (`AttentionDecoderGRU` in the official code): a GRU that writes a class's prompt
// vectors one at a time, starting from the class name's text feature, with self-attention across the
// classes and cross-attention over the image features of the whole (global) batch at every step; and
// Spatial Fusion, the ECA gate over image tokens. Not for: assembling prompts or scoring (PsPGMethod).
import CarinaNN
import Foundation

public final class PromptDecoder: Module {
    /// Image features (E) -> decoder memory (H).
    public let memoryProjection: Linear
    public let gru: GRUCell  // input E, hidden H
    /// Self-attention across the classes (all classes are one sequence), then h = LN(Linear(LN(h + a)) + h)
    /// with the same LayerNorm twice, as the official block.
    public let classAttention: SelfAttention
    public let norm: LayerNorm
    public let mix: Linear  // H -> H
    /// Each class's state queries the memory of every image of the batch.
    public let imageAttention: CrossAttention
    public let output: Linear  // H -> E, fed back as the next input
    public let promptProjection: Linear  // E -> text width
    public let length: Int
    public let dropout: Float

    public init(embedDim: Int, hidden: Int, textWidth: Int, length: Int, heads: Int, dropout: Float, rng: inout RNG) {
        memoryProjection = Linear(embedDim, hidden, std: 0.02, rng: &rng)
        gru = GRUCell(input: embedDim, hidden: hidden, rng: &rng)
        classAttention = SelfAttention(dim: hidden, heads: heads, rng: &rng)
        norm = LayerNorm(hidden)
        mix = Linear(hidden, hidden, std: 0.02, rng: &rng)
        imageAttention = CrossAttention(dim: hidden, heads: heads, rng: &rng)
        output = Linear(hidden, embedDim, std: 0.02, rng: &rng)
        promptProjection = Linear(embedDim, textWidth, std: 0.02, rng: &rng)
        self.length = length
        self.dropout = dropout
    }

    /// Class-name features (C, E) and the global batch's image features (B, E), both unnormalised ->
    /// prompt vectors (C, L, textWidth). `dropoutKey` draws the dropout mask by class row (the same on
    /// every rank: the prompts are shared by the whole batch).
    public func callAsFunction(classFeatures: Tensor, images: Tensor, dropoutKey: RandomKey) throws -> Tensor {
        let (c, b, h) = (classFeatures.shape[0], images.shape[0], gru.hidden)
        let memory = try memoryProjection(images).reshaped([1, b, h])
        var state = Tensor.zeros([c, h])
        var input = classFeatures
        var outputs: [Tensor] = []
        for _ in 0..<length {
            state = try gru(input, state)
            let attended = try classAttention(state.reshaped([1, c, h])).reshaped([c, h])
            state = try norm(mix(norm(state + attended)) + state)
            let context = try imageAttention(state.reshaped([1, c, h]), context: memory).reshaped([c, h])
            let o = try output(state + context)  // (C, E)
            outputs.append(try o.reshaped([c, 1, o.shape[1]]))
            input = o
        }
        let sequence = try Tensor.concat(outputs, axis: 1).dropout(dropout, training: isTraining, key: dropoutKey)
        return try promptProjection(sequence)
    }
}

/// Spatial Fusion: an ECA gate over the image tokens. Each token's mean and max over channels go through
/// one shared bias-free 1-D convolution across the token axis (zero padding); the sigmoid of their sum
/// scales the token. The kernel size follows ECA's rule from the token count (3 for 50 or 65 tokens).
public final class SpatialFusion: Module {
    public let weight: Tensor  // (k)
    public let kernel: Int

    /// ECA's kernel for `tokens` channels: t = ⌊|log2(tokens) + 1| / 2⌋, made odd.
    public static func kernelSize(tokens: Int) -> Int {
        let t = Int(abs(log2(Double(tokens)) + 1) / 2)
        return t % 2 == 1 ? t : t + 1
    }

    public init(tokens: Int, rng: inout RNG) {
        kernel = SpatialFusion.kernelSize(tokens: tokens)
        weight = Init.uniform([kernel], bound: 1 / Float(kernel).squareRoot(), rng: &rng)  // PyTorch Conv1d's default
    }

    /// tokens (B, T, E) -> gated tokens (B, T, E).
    public func callAsFunction(_ tokens: Tensor) throws -> Tensor {
        let (b, t) = (tokens.shape[0], tokens.shape[1])
        // conv(mean) + conv(max) = conv(mean + max): the convolution is linear, shared and has no bias.
        let statistic = try tokens.mean(axis: 2) + tokens.max(axis: 2)  // (B, T)
        let pad = (kernel - 1) / 2
        let zeros = Tensor.zeros([b, pad])
        let padded = pad > 0 ? try Tensor.concat([zeros, statistic, zeros], axis: 1) : statistic
        var gate: Tensor? = nil
        for i in 0..<kernel {
            let term = try padded.slice(axis: 1, i, i + t) * weight.slice(axis: 0, i, i + 1).reshaped([1, 1])
            gate = try gate.map { try $0 + term } ?? term
        }
        return try tokens * gate!.sigmoid().reshaped([b, t, 1])
    }
}
