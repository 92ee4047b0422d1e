// CLIP / ConVIRT as a training method: the CLIP model's symmetric InfoNCE over global negatives on
// image-report batches, logging the loss, the temperature and in-batch image->report accuracy.
import CarinaData
import CarinaDist
import CarinaNN

public final class CLIPMethod: TrainingMethod {
    public let clip: CLIPModel
    public var model: Module { clip }
    public var needsText: Bool { true }

    public init(config: CLIPConfig, seed: UInt64) {
        clip = CLIPModel(config: config, seed: seed)
    }

    public func loss(_ batch: Batch, communicator: Communicator) throws -> (loss: Tensor, metrics: [String: Float]) {
        guard let text = batch.text else {
            throw TensorError.invalidArgument(op: "clip", detail: "batch has no token ids (reports were not tokenized)")
        }
        let loss = try clip.loss(images: batch.images, ids: text.ids, padding: text.padding, communicator: communicator)
        return (loss, ["temperature": 1 / clip.logitScale().item])
    }
}
