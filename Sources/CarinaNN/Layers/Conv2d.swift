// 2-D convolution over (N, C, H, W) (im2col + GEMM in CarinaTensor), weight (out, in, k, k).

public final class Conv2d: Module {
    public let weight: Tensor  // (Cout, Cin, k, k)
    public let bias: Tensor?  // (Cout)
    public let stride: Int
    public let padding: Int

    /// `kaiming`: torchvision's ResNet initialisation (normal, fan-out); otherwise PyTorch's default
    /// U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = true, kaiming: Bool = false, rng: inout RNG) {
        let shape = [outChannels, inChannels, kernel, kernel]
        let bound = 1 / Float(inChannels * kernel * kernel).squareRoot()
        weight = kaiming ? Init.kaimingNormalFanOut(shape, rng: &rng) : Init.uniform(shape, bound: bound, rng: &rng)
        self.bias = bias ? Init.uniform([outChannels], bound: bound, rng: &rng) : nil
        self.stride = stride
        self.padding = padding
    }

    /// x (N, Cin, H, W) -> (N, Cout, H', W')
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.conv2d(weight: weight, bias: bias, stride: stride, padding: padding)
    }
}
