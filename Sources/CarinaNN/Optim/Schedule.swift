// Learning-rate schedules as pure functions of the step, so a resumed run gets exactly the rate the
import Foundation
// uninterrupted run had.

/// Linear warm-up from lr/warmup to lr over `warmupSteps`, then cosine decay to `minLR` at `totalSteps`.
public struct WarmupCosine: Sendable, Equatable, Codable {
    public var baseLR: Float
    public var warmupSteps: Int
    public var totalSteps: Int
    public var minLR: Float

    public init(baseLR: Float, warmupSteps: Int, totalSteps: Int, minLR: Float = 0) {
        self.baseLR = baseLR
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.minLR = minLR
    }

    /// The rate for step `step` (0-based): base·(step+1)/warmup during warm-up, then
    /// min + (base - min)·(1 + cos(π·progress))/2 with progress = (step - warmup)/(total - warmup), clamped to [0, 1].
    public func learningRate(at step: Int) -> Float {
        if step < warmupSteps {
            return baseLR * Float(step + 1) / Float(warmupSteps)
        }
        let span = Swift.max(totalSteps - warmupSteps, 1)
        let progress = Swift.min(Swift.max(Double(step - warmupSteps) / Double(span), 0), 1)
        return minLR + (baseLR - minLR) * Float(0.5 * (1 + cos(Double.pi * progress)))
    }
}
