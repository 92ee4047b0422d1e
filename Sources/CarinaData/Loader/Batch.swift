// A training or evaluation batch as the loader hands it to a method: this rank's samples, their indices,
// images, reports (raw and tokenized as the method asked), and labels with masks saying which are known
// and which the record states as uncertain (kept apart from absent, as PsPG needs).

import CarinaTensor

public struct Batch: @unchecked Sendable {
    public let epoch: Int
    /// Sample indices of this rank's slice, in order (indices into the dataset the loader reads: what
    /// per-sample randomness is keyed by).
    public let indices: [Int]
    /// (b, 1, H, W), normalised.
    public let images: Tensor
    public let reports: [String]
    /// (b, C): 1 positive, 0 negative, -1 uncertain or absent.
    public let labels: Tensor
    /// (b, C): 1 where the label is known (1 or 0).
    public let labelMask: Tensor
    /// (b, C): 1 where the record states the finding as uncertain (CheXpert's -1), 0 otherwise (known or
    /// absent): absent = 1 − labelMask − uncertain.
    public let uncertain: Tensor
    public let text: TextBatch?

    public init(epoch: Int, indices: [Int], images: Tensor, reports: [String], labels: Tensor, labelMask: Tensor, uncertain: Tensor? = nil,
                text: TextBatch?) {
        self.epoch = epoch
        self.indices = indices
        self.images = images
        self.reports = reports
        self.labels = labels
        self.labelMask = labelMask
        self.uncertain = uncertain ?? Tensor.zeros(labels.shape)
        self.text = text
    }

    /// Rows in this batch.
    public var count: Int { indices.count }
}

public struct TextBatch: @unchecked Sendable {
    /// (b, T) token ids, [CLS] first.
    public let ids: IndexTensor
    /// (b, T) 1 = token, 0 = padding.
    public let padding: Tensor
    /// (b, T) each token's sentence (0-based), -1 for [CLS], [SEP] and padding (BatchRequirements.sentences).
    public let sentenceIDs: IndexTensor?
    /// Sentences of each report (BatchRequirements.sentences).
    public let sentenceCounts: [Int]?
    /// (b, T) masked-language-model input ids and (b, T) labels: the original id where a token was chosen,
    /// -100 elsewhere (BatchRequirements.maskedTokens).
    public let maskedIDs: IndexTensor?
    public let maskLabels: IndexTensor?

    public init(ids: IndexTensor, padding: Tensor, sentenceIDs: IndexTensor? = nil, sentenceCounts: [Int]? = nil,
                maskedIDs: IndexTensor? = nil, maskLabels: IndexTensor? = nil) {
        self.ids = ids
        self.padding = padding
        self.sentenceIDs = sentenceIDs
        self.sentenceCounts = sentenceCounts
        self.maskedIDs = maskedIDs
        self.maskLabels = maskLabels
    }
}
