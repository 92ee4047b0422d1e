// What every optimizer shares: the parameters it updates (by dotted name), a step counter, the learning
// rate a schedule sets each step, and its state as named tensors for checkpoints. Parameters without a
// gradient in a step (an unused branch, a frozen subtree) are left untouched.

public protocol Optimizer: AnyObject {
    /// The parameters this optimizer updates, in a fixed order.
    var parameters: [NamedParameter] { get }
    /// Learning rate used by the next `step()`.
    var learningRate: Float { get set }
    /// Number of steps taken.
    var stepCount: Int { get }
    /// Applies one update from the parameters' current gradients.
    func step() throws
    /// The optimizer's state as named tensors (`exp_avg.encoder.blocks.0.attn.qkv.weight`, ...), plus the
    /// step count, so a checkpoint can save and restore it exactly.
    var state: [(name: String, tensor: Tensor)] { get }
    func setStepCount(_ n: Int)
}

extension Optimizer {
    /// Clears every parameter's gradient (zero in place where gradients are preallocated).
    public func zeroGrad() {
        for p in parameters { p.tensor.zeroGrad() }
    }
}

/// Errors an optimizer raises: a gradient or parameter that cannot be used, named.
public struct OptimizerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Scales all gradients so that their global L2 norm is at most `maxNorm` (PyTorch's
/// clip_grad_norm_: factor maxNorm / (norm + 1e-6) when norm > maxNorm). Returns the norm before clipping,
/// accumulated in Double. Parameters without gradients are skipped.
@discardableResult
public func clipGradientNorm(_ parameters: [NamedParameter], maxNorm: Float) -> Float {
    var total = 0.0
    for p in parameters {
        guard let g = p.tensor.grad else { continue }
        total += Double(Kernels.dot(g.pointer, g.pointer, g.count))
    }
    let norm = Float(total.squareRoot())
    if norm > maxNorm {
        let factor = maxNorm / (norm + 1e-6)
        for p in parameters {
            guard let g = p.tensor.grad else { continue }
            Kernels.map(g.pointer, g.pointer, g.count) { $0 * factor }
        }
    }
    return norm
}
