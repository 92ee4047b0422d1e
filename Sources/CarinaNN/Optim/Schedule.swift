// Learning-rate schedules as pure functions of the step within a stage, so a resumed run gets exactly the
// rate the uninterrupted run had: linear warm-up from a start rate, then cosine or linear decay to a
// floor, or a constant rate. Not for: which stage a step belongs to (the trainer's plan).
import Foundation

public struct LearningRateSchedule: Sendable, Equatable, Codable {
    public enum Decay: String, Sendable, Codable, CaseIterable {
        /// min + (base − min)·(1 + cos(π·progress))/2 (CLIP, PRIOR, PsPG as configured).
        case cosine
        /// base − (base − min)·progress (M3AE, BERT).
        case linear
        /// base after warm-up.
        case constant
    }

    public var baseLR: Float
    public var warmupSteps: Int
    /// The rate warm-up starts from (step 0 gets start + (base − start)/warmup).
    public var warmupStartLR: Float
    /// Steps of the whole stage, warm-up included.
    public var totalSteps: Int
    /// The floor decay ends at.
    public var minLR: Float
    public var decay: Decay

    public init(baseLR: Float, warmupSteps: Int, totalSteps: Int, minLR: Float = 0, warmupStartLR: Float = 0, decay: Decay = .cosine) {
        self.baseLR = baseLR
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.minLR = minLR
        self.warmupStartLR = warmupStartLR
        self.decay = decay
    }

    /// The rate for step `step` (0-based) of the stage: start + (base − start)·(step+1)/warmup during
    /// warm-up, then the decay with progress = (step − warmup)/(total − warmup) clamped to [0, 1].
    public func learningRate(at step: Int) -> Float {
        if step < warmupSteps {
            return warmupStartLR + (baseLR - warmupStartLR) * Float(step + 1) / Float(warmupSteps)
        }
        let span = Swift.max(totalSteps - warmupSteps, 1)
        let progress = Swift.min(Swift.max(Double(step - warmupSteps) / Double(span), 0), 1)
        switch decay {
        case .cosine: return minLR + (baseLR - minLR) * Float(0.5 * (1 + cos(Double.pi * progress)))
        case .linear: return minLR + (baseLR - minLR) * Float(1 - progress)
        case .constant: return baseLR
        }
    }
}
