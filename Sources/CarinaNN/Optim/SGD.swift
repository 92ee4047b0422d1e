// SGD with momentum, dampening, Nesterov and (coupled, L2) weight decay, as torch.optim.SGD computes it,
// each parameter's momentum buffer started on its own first update. PsPG trains with it (Nesterov).

public final class SGD: Optimizer {
    public let parameters: [NamedParameter]
    public var learningRate: Float
    public let momentum: Float
    public let dampening: Float
    public let nesterov: Bool
    public let weightDecay: Float
    public private(set) var stepCount = 0
    private let momentumBuffer: [Tensor]
    /// (P) each parameter's number of updates.
    private let steps: Tensor

    public init(_ parameters: [NamedParameter], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                nesterov: Bool = false, weightDecay: Float = 0) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        momentumBuffer = parameters.map { Tensor.zeros($0.tensor.shape) }
        steps = Tensor.zeros([parameters.count])
    }

    /// d = g + wd·p; buf = d (the parameter's first update) or μ·buf + (1 - dampening)·d; d = d + μ·buf
    /// (Nesterov) or buf; p ← p - lr·d.
    public func step(active: [Bool]?) throws {
        let updates = try updates(active)
        stepCount += 1
        for (i, p, g) in updates {
            let first = steps.pointer[i] == 0
            steps.pointer[i] += 1
            let learningRate = self.learningRate * p.learningRateScale
            let n = p.tensor.count
            let w = p.tensor.pointer, gp = g.pointer, buf = momentumBuffer[i].pointer
            let wd = p.decays ? weightDecay : 0
            for j in 0..<n {
                var d = gp[j] + wd * w[j]
                if momentum != 0 {
                    buf[j] = first ? d : momentum * buf[j] + (1 - dampening) * d
                    d = nesterov ? d + momentum * buf[j] : buf[j]
                }
                w[j] -= learningRate * d
            }
        }
    }

    public var state: [(name: String, tensor: Tensor)] {
        (momentum == 0 ? [] : parameters.enumerated().map { ("momentum_buffer.\($1.name)", momentumBuffer[$0]) }) + [("step", steps)]
    }

    public func setStepCount(_ n: Int) { stepCount = n }
}
