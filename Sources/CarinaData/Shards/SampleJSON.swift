// The KEY.json member of a shard sample: labels, patient id and metadata as a JSON object with sorted
// keys, so equal samples give equal bytes. Not for: the image or report members, or dataset.json.

import Foundation

struct SampleJSON: Codable, Equatable {
    var labels: [String: LabelValue]
    var patientID: String?
    var metadata: [String: String]

    enum CodingKeys: String, CodingKey {
        case labels
        case patientID = "patient_id"
        case metadata
    }

    init(_ sample: Sample) {
        labels = sample.labels
        patientID = sample.patientID
        metadata = sample.metadata
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        labels = try c.decodeIfPresent([String: LabelValue].self, forKey: .labels) ?? [:]
        patientID = try c.decodeIfPresent(String.self, forKey: .patientID)
        metadata = try c.decodeIfPresent([String: String].self, forKey: .metadata) ?? [:]
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(labels, forKey: .labels)
        try c.encodeIfPresent(patientID, forKey: .patientID)
        try c.encode(metadata, forKey: .metadata)
    }

    /// Sorted keys, no escaped slashes, one line.
    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self))
    }

    static func decode(_ bytes: [UInt8]) throws -> SampleJSON {
        try JSONDecoder().decode(SampleJSON.self, from: Data(bytes))
    }
}
