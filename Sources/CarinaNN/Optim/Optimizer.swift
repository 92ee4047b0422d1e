// What every optimizer shares: the parameters it updates (by dotted name, each with its learning-rate
// scale and weight-decay flag), step counts, the learning rate a schedule sets each step, and its state as
// named tensors for checkpoints. A parameter that got no gradient in a step (an unused branch, a frozen
// subtree) is left untouched: no update, no weight decay, no moment or step-count change (PyTorch skips
// parameters whose `.grad` is None the same way).

public protocol Optimizer: AnyObject {
    /// The parameters this optimizer updates, in a fixed order.
    var parameters: [NamedParameter] { get }
    /// Base learning rate of the next step (each parameter's is this times its learningRateScale).
    var learningRate: Float { get set }
    /// Number of `step` calls.
    var stepCount: Int { get }
    /// Applies one update from the parameters' gradients. `active[i]` false (or no gradient) leaves
    /// parameter i and its state untouched; nil means every parameter with a gradient.
    func step(active: [Bool]?) throws
    /// The optimizer's state as named tensors (`exp_avg.encoder.blocks.0.attn.qkv.weight`, ...,
    /// `step` with each parameter's own step count), so a checkpoint can save and restore it exactly.
    var state: [(name: String, tensor: Tensor)] { get }
    func setStepCount(_ n: Int)
}

extension Optimizer {
    /// One update of every parameter that has a gradient.
    public func step() throws { try step(active: nil) }

    /// Clears every parameter's gradient (zero in place where gradients are preallocated).
    public func zeroGrad() {
        for p in parameters { p.tensor.zeroGrad() }
    }

    /// The parameters the next step updates: those with a gradient and, when given, `active`.
    func updates(_ active: [Bool]?) throws -> [(index: Int, parameter: NamedParameter, grad: Tensor)] {
        if let active, active.count != parameters.count {
            throw OptimizerError("optimizer step: \(active.count) activity flags for \(parameters.count) parameters")
        }
        var out: [(Int, NamedParameter, Tensor)] = []
        for (i, p) in parameters.enumerated() where active?[i] ?? true {
            guard let g = p.tensor.grad else { continue }
            guard g.count == p.tensor.count else {
                throw OptimizerError("\(type(of: self)): gradient of \(p.name) has shape \(g.shape), parameter \(p.tensor.shape)")
            }
            out.append((i, p, g))
        }
        return out
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
