// Fully connected layer y = x Wᵀ + b over the last axis, weight (out, in) as PyTorch stores it.

public final class Linear: Module {
    public let weight: Tensor  // (out, in)
    public let bias: Tensor?  // (out)

    public let inFeatures: Int
    public let outFeatures: Int

    /// PyTorch's default initialisation: weight and bias U(-1/sqrt(in), 1/sqrt(in)); `std` instead
    /// draws the weight from a truncated normal (ViT/CLIP style) with zero bias.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, std: Float? = nil, rng: inout RNG) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let bound = 1 / Float(inFeatures).squareRoot()
        if let std {
            weight = Init.truncatedNormal([outFeatures, inFeatures], std: std, rng: &rng)
            self.bias = bias ? Init.zeros([outFeatures]) : nil
        } else {
            weight = Init.uniform([outFeatures, inFeatures], bound: bound, rng: &rng)
            self.bias = bias ? Init.uniform([outFeatures], bound: bound, rng: &rng) : nil
        }
    }

    /// x (..., in) -> (..., out)
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.linear(weight: weight, bias: bias)
    }
}
