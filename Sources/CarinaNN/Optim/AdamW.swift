// AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, as PyTorch's torch.optim.AdamW computes
// it, as one fused pass over each parameter's values, gradient and two moment buffers, with each
// parameter's own step count for the bias corrections (as PyTorch keeps `state['step']` per parameter).
// Weight decay applies only to parameters marked `decays`; each parameter's rate is scaled by its group's
// factor.
import Foundation
import CarinaTensor

public final class AdamW: Optimizer {
    public let parameters: [NamedParameter]
    public var learningRate: Float
    public let beta1: Float
    public let beta2: Float
    public let eps: Float
    public let weightDecay: Float
    public private(set) var stepCount = 0
    private let exp_avg: [Tensor]
    private let exp_avg_sq: [Tensor]
    /// (P) each parameter's number of updates (exact in Float up to 2^24).
    private let steps: Tensor

    public init(_ parameters: [NamedParameter], learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999),
                eps: Float = 1e-8, weightDecay: Float = 0.01) {
        self.parameters = parameters
        self.learningRate = learningRate
        (beta1, beta2) = betas
        self.eps = eps
        self.weightDecay = weightDecay
        exp_avg = parameters.map { Tensor.zeros($0.tensor.shape) }
        exp_avg_sq = parameters.map { Tensor.zeros($0.tensor.shape) }
        steps = Tensor.zeros([parameters.count])
    }

    /// Updates every parameter with a gradient. All their elements, parameter after parameter, are split into
    /// one contiguous share per thread (each element's update is its own, so the split changes no bit): run on
    /// one thread, the update left the other threads of a process idle, ~8 ms of a clip-tiny step.
    public func step(active: [Bool]?) throws {
        let updates = try updates(active)
        stepCount += 1
        var parts: [Part] = []
        for (i, p, g) in updates {
            steps.pointer[i] += 1
            let t = steps.pointer[i]
            parts.append(Part(p: p.tensor.pointer, g: g.pointer, m: exp_avg[i].pointer, v: exp_avg_sq[i].pointer, count: p.tensor.count,
                              lr: learningRate * p.learningRateScale, decay: p.decays ? weightDecay : 0,
                              bc1: 1 - pow(beta1, t), bc2: 1 - pow(beta2, t)))
        }
        let total = parts.reduce(0) { $0 + $1.count }
        let (beta1, beta2, eps) = (self.beta1, self.beta2, self.eps)
        Parallel.forRanges(total, grain: Kernels.parallelGrain) { share in
            var start = 0
            for part in parts {
                let lo = Swift.max(share.lowerBound, start), hi = Swift.min(share.upperBound, start + part.count)
                if lo < hi {
                    let o = lo - start
                    AdamW.update(part.p + o, part.g + o, part.m + o, part.v + o, hi - lo, lr: part.lr, beta1: beta1, beta2: beta2,
                                 eps: eps, decay: part.decay, bc1: part.bc1, bc2: part.bc2)
                }
                start += part.count
                if start >= share.upperBound { break }
            }
        }
        withExtendedLifetime(updates) {}
    }

    /// One parameter's update: its buffers and constants.
    private struct Part {
        let p: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>
        let count: Int
        let lr: Float, decay: Float, bc1: Float, bc2: Float
    }

    /// One fused AdamW update over n elements (PyTorch's order of operations):
    /// p ← p(1 - lr·wd); m ← β1 m + (1-β1) g; v ← β2 v + (1-β2) g²; p ← p - (lr/bc1) · m / (√v/√bc2 + eps).
    public static func update(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                              _ v: UnsafeMutablePointer<Float>, _ n: Int, lr: Float, beta1: Float, beta2: Float,
                              eps: Float, decay: Float, bc1: Float, bc2: Float) {
        let shrink = F8(repeating: 1 - lr * decay)
        let b1 = F8(repeating: beta1), b2 = F8(repeating: beta2)
        let c1 = F8(repeating: 1 - beta1), c2 = F8(repeating: 1 - beta2)
        let stepSize = F8(repeating: lr / bc1), rsqrtBC2 = F8(repeating: 1 / bc2.squareRoot()), e = F8(repeating: eps)
        func body(_ i: Int, _ count: Int) {
            let gi = count == 8 ? load8(g + i) : loadPartial(g + i, count)
            let mi = (count == 8 ? load8(m + i) : loadPartial(m + i, count)) * b1 + c1 * gi
            let vi = (count == 8 ? load8(v + i) : loadPartial(v + i, count)) * b2 + c2 * gi * gi
            let pi = (count == 8 ? load8(p + i) : loadPartial(p + i, count)) * shrink - stepSize * mi / (vi.squareRoot() * rsqrtBC2 + e)
            if count == 8 {
                store8(mi, m + i); store8(vi, v + i); store8(pi, p + i)
            } else {
                storePartial(mi, m + i, count); storePartial(vi, v + i, count); storePartial(pi, p + i, count)
            }
        }
        var i = 0
        while i + 8 <= n { body(i, 8); i += 8 }
        if i < n { body(i, n - i) }
    }

    public var state: [(name: String, tensor: Tensor)] {
        var out: [(String, Tensor)] = []
        for (i, p) in parameters.enumerated() {
            out.append(("exp_avg.\(p.name)", exp_avg[i]))
            out.append(("exp_avg_sq.\(p.name)", exp_avg_sq[i]))
        }
        out.append(("step", steps))
        return out
    }

    public func setStepCount(_ n: Int) { stepCount = n }
}
