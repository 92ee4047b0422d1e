// What every method with a per-finding head shares (fine-tuning a CLIP encoder, fine-tuning M3AE): BCE over
// the known labels of the global batch, and the head's columns for the findings evaluation asks about.
// Not for: prompt-based scoring (PsPG scores any name).
import CarinaData
import CarinaNN

public enum MultiLabelScoring {
    /// Mean BCE over the known labels of the global batch: this rank's sum divided by the global count of
    /// known labels (unknown labels weigh 0), so the ranks' losses add up to the one-process loss.
    public static func loss(logits: Tensor, batch: Batch, context: StepContext) throws -> (loss: Tensor, metrics: [String: Float]) {
        let known = try context.globalSum(batch.labelMask.scalars.reduce(0, +))
        let targets = Tensor(shape: batch.labels.shape, values: batch.labels.scalars.map { $0 == 1 ? 1 : 0 })
        let sum = try logits.binaryCrossEntropyWithLogits(targets: targets, weight: batch.labelMask, reduction: .sum)
        return (sum / Swift.max(known, 1), ["known_labels": known])
    }

    /// The head's column of each of `classes`; an error naming `op` when the head has no such class.
    public static func columns(of classes: [String], in classNames: [String], op: String) throws -> [Int] {
        try classes.map { name -> Int in
            guard let j = classNames.firstIndex(of: name) else {
                throw TensorError.invalidArgument(op: op, detail: "the head has no class '\(name)' (it scores \(classNames.joined(separator: ", ")))")
            }
            return j
        }
    }
}
