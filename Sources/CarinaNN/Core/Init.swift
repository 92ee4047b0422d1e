// Weight initialisers, each drawing from a generator the caller passes in (randomness is never
// global, so a model built with the same seed is the same on every rank). Not for: data randomness.

public enum Init {
    /// U(-bound, bound): PyTorch's default for Linear and Conv weights and biases is bound = 1/sqrt(fanIn).
    public static func uniform(_ shape: [Int], bound: Float, rng: inout RNG) -> Tensor {
        parameter(Tensor.uniform(shape, -bound, bound, rng: &rng))
    }

    /// Normal(0, std) truncated to ±2 std (redrawn), as timm/open_clip initialise ViT weights and tokens.
    public static func truncatedNormal(_ shape: [Int], std: Float, rng: inout RNG) -> Tensor {
        let t = Tensor(uninitialized: shape)
        for i in 0..<t.count {
            var z = rng.normal()
            while abs(z) > 2 { z = rng.normal() }
            t.pointer[i] = z * std
        }
        return parameter(t)
    }

    /// Normal(0, std), untruncated (MAE's mask token).
    public static func normal(_ shape: [Int], std: Float, rng: inout RNG) -> Tensor {
        parameter(Tensor.normal(shape, std: std, rng: &rng))
    }

    /// Kaiming normal, fan-out mode for ReLU networks (torchvision's ResNet conv initialisation).
    public static func kaimingNormalFanOut(_ shape: [Int], rng: inout RNG) -> Tensor {
        let fanOut = shape[0] * shape.dropFirst(2).reduce(1, *)
        return parameter(Tensor.normal(shape, std: (2 / Float(fanOut)).squareRoot(), rng: &rng))
    }

    public static func zeros(_ shape: [Int]) -> Tensor { parameter(Tensor.zeros(shape)) }
    public static func ones(_ shape: [Int]) -> Tensor { parameter(Tensor.ones(shape)) }
}
