// Embedding table lookup: ids (B, T) -> vectors (B, T, C).

public final class Embedding: Module {
    public let weight: Tensor  // (count, dim)
    override public var weightDecayExempt: Set<String> { ["weight"] }

    public init(_ count: Int, _ dim: Int, std: Float = 0.02, rng: inout RNG) {
        weight = Init.truncatedNormal([count, dim], std: std, rng: &rng)
    }

    public func callAsFunction(_ ids: IndexTensor) throws -> Tensor {
        try weight.embedding(ids)
    }
}
