// A training or evaluation batch as the loader hands it to a method: this rank's samples, their global
// indices, images, reports (raw and tokenized), and labels with a mask of which are known.

import CarinaTensor

public struct Batch: @unchecked Sendable {
    public let epoch: Int
    /// Global sample indices of this rank's slice, in order.
    public let indices: [Int]
    /// (b, 1, H, W), normalised.
    public let images: Tensor
    public let reports: [String]
    /// (b, C): 1 positive, 0 negative, -1 uncertain or absent.
    public let labels: Tensor
    /// (b, C): 1 where the label is known (1 or 0).
    public let labelMask: Tensor
    public let text: TextBatch?

    public init(epoch: Int, indices: [Int], images: Tensor, reports: [String], labels: Tensor, labelMask: Tensor, text: TextBatch?) {
        self.epoch = epoch
        self.indices = indices
        self.images = images
        self.reports = reports
        self.labels = labels
        self.labelMask = labelMask
        self.text = text
    }
}

public struct TextBatch: @unchecked Sendable {
    /// (b, T) token ids, [CLS] first.
    public let ids: IndexTensor
    /// (b, T) 1 = token, 0 = padding.
    public let padding: Tensor

    public init(ids: IndexTensor, padding: Tensor) {
        self.ids = ids
        self.padding = padding
    }
}
