// Image patch masking for masked autoencoders (M3AE: 75 %): which patches the encoder sees and which the
// decoder must rebuild, drawn from RNG(seed, "mask-image", epoch, sample) so it never depends on rank or
// batch position. Kept count = Int(patches · (1 − ratio)) exactly as MAE's `len_keep`. Not for: text.
import CarinaTensor

public enum PatchMask {
    /// (keep, masked), each sorted ascending, disjoint, together 0..<patches.
    public static func random(patches: Int, ratio: Float, seed: UInt64, epoch: Int, sampleIndex: Int) -> (keep: [Int], masked: [Int]) {
        precondition(ratio >= 0 && ratio < 1, "mask ratio \(ratio) must be in [0, 1)")
        var rng = RNG(seed: seed, "mask-image", epoch, sampleIndex)
        let order = rng.permutation(patches)  // a uniform random order, as MAE's argsort of uniform noise
        let keepCount = Int(Float(patches) * (1 - ratio))
        return (Array(order.prefix(keepCount)).sorted(), Array(order.dropFirst(keepCount)).sorted())
    }
}
