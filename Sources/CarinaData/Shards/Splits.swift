// Patient-disjoint train/valid/test assignment: a patient's draw depends only on (seed, patient id), so all
// of a patient's images land in one split whatever the order or number of samples. Also the official-split
// names importers put in a sample's metadata. Not for: which samples a rank reads (DistributedSampler).

import CarinaTensor

public struct SplitAssigner: Sendable, Equatable {
    /// The three split names, in this order everywhere.
    public static let names = ["train", "valid", "test"]
    /// Metadata key under which an importer records a dataset's official split: "train", "valid", "test",
    /// or "trainval" (the official pool for training and validation, divided here by patient).
    public static let officialSplitKey = "split"

    public var seed: UInt64
    public var train: Double
    public var valid: Double

    /// Fractions of patients for train and valid; test gets the rest (default 80 / 10 / 10).
    public init(seed: UInt64 = 0, train: Double = 0.8, valid: Double = 0.1) {
        self.seed = seed
        self.train = train
        self.valid = valid
    }

    /// "train", "valid" or "test" for a patient (or, without a patient id, the sample key).
    public func split(group: String) -> String {
        let u = Double(draw(group))
        return u < train ? "train" : u < train + valid ? "valid" : "test"
    }

    /// "train" or "valid" for a patient of an official train+valid pool, in the ratio train : valid.
    public func trainOrValid(group: String) -> String {
        Double(draw(group)) * (train + valid) < train ? "train" : "valid"
    }

    /// The split of one sample: its official split where it has one, else by patient.
    public func split(group: String, official: String?) throws -> String {
        switch official {
        case nil: return split(group: group)
        case let name? where SplitAssigner.names.contains(name): return name
        case "trainval"?: return trainOrValid(group: group)
        case let other?:
            throw DataError.invalidSample(key: group, problem: "official split '\(other)' is not train, valid, test or trainval")
        }
    }

    /// A uniform draw in [0, 1) keyed by (seed, "split", hash of the group).
    private func draw(_ group: String) -> Float {
        var rng = RNG(seed: seed, "split", Int(truncatingIfNeeded: FNV1a64.hash(group)))
        return rng.uniform()
    }

    /// How dataset.json describes this rule.
    public var rule: String {
        "by patient: RNG(seed \(seed), 'split', FNV-1a of patient id or key), train \(train), valid \(valid), test \(1 - train - valid)"
    }
}
