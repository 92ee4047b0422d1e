// Normalisation layers: LayerNorm over the last axis and BatchNorm over channels with running
// statistics (batch statistics in training, running ones in evaluation).

public final class LayerNorm: Module {
    public let weight: Tensor  // (C)
    public let bias: Tensor  // (C)
    public let eps: Float

    public init(_ dim: Int, eps: Float = 1e-5) {
        weight = Init.ones([dim])
        bias = Init.zeros([dim])
        self.eps = eps
    }

    /// x (..., C) -> (..., C)
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.layerNorm(weight: weight, bias: bias, eps: eps)
    }
}

public final class BatchNorm: Module {
    public let weight: Tensor  // (C)
    public let bias: Tensor  // (C)
    public let runningMean: Buffer  // (C)
    public let runningVar: Buffer  // (C)
    public let momentum: Float
    public let eps: Float
    /// Sums statistics over data-parallel replicas when set (SyncBatchNorm).
    public var sync: CrossReplicaSum?

    public init(_ channels: Int, momentum: Float = 0.1, eps: Float = 1e-5, zeroInit: Bool = false) {
        weight = zeroInit ? Init.zeros([channels]) : Init.ones([channels])
        bias = Init.zeros([channels])
        runningMean = Buffer(Tensor.zeros([channels]))
        runningVar = Buffer(Tensor.ones([channels]))
        self.momentum = momentum
        self.eps = eps
    }

    /// x (N, C, ...) -> same shape
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.batchNorm(weight: weight, bias: bias, runningMean: runningMean.tensor, runningVar: runningVar.tensor,
                        training: isTraining, momentum: momentum, eps: eps, sync: sync)
    }
}
