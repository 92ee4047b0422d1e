// Splits are patient-disjoint, close to 80/10/10, independent of sample order, and official splits win.
// Not for: the sampler that orders a split's samples (CarinaDist).

import Testing
@testable import CarinaData

@Suite struct SplitTests {
    @Test func patientsLandInOneSplitNearTheFractions() {
        let splits = SplitAssigner(seed: 7)
        var counts = [String: Int]()
        for patient in 0..<5000 { counts[splits.split(group: "patient-\(patient)"), default: 0] += 1 }
        #expect(abs(counts["train", default: 0] - 4000) < 150, "\(counts)")
        #expect(abs(counts["valid", default: 0] - 500) < 90, "\(counts)")
        #expect(abs(counts["test", default: 0] - 500) < 90, "\(counts)")
        #expect(SplitAssigner(seed: 8).split(group: "x") == SplitAssigner(seed: 8).split(group: "x"))
        let moved = (0..<1000).filter { SplitAssigner(seed: 7).split(group: "p\($0)") != SplitAssigner(seed: 8).split(group: "p\($0)") }
        #expect(moved.count > 100, "another seed gives another split")
    }

    @Test func writtenSplitsArePatientDisjointAndOfficialSplitsWin() throws {
        let dir = try TemporaryDirectory("splits")
        defer { dir.remove() }
        let image = try testImage(width: 4, height: 4)
        let writer = try ShardWriter(directory: dir.path, samplesPerShard: 50, imageSize: nil, splits: SplitAssigner(seed: 3))
        var patientOf = [Int: String]()
        for i in 0..<300 {
            var metadata = [String: String]()
            if i >= 240 { metadata["split"] = i < 270 ? "test" : "trainval" }
            let patient = "P\(i % 97)"
            patientOf[i] = i >= 240 ? "official-\(i)" : patient
            try writer.write(Sample(key: "s\(i)", image: image, report: "", patientID: i >= 240 ? "official-\(i)" : patient,
                                    metadata: metadata))
        }
        _ = try writer.finish()
        let dataset = try ShardDataset(directory: dir.path)
        let train = dataset.indices(split: "train"), valid = dataset.indices(split: "valid"), test = dataset.indices(split: "test")
        #expect((train + valid + test).sorted() == Array(0..<300))
        let patients = [train, valid, test].map { Set($0.map { patientOf[$0]! }) }
        #expect(patients[0].isDisjoint(with: patients[1]) && patients[0].isDisjoint(with: patients[2]) && patients[1].isDisjoint(with: patients[2]))
        #expect(Set(240..<270).isSubset(of: Set(test)))
        #expect(Set(270..<300).isDisjoint(with: Set(test)))
        #expect(dataset.indices(split: "holdout") == [])
    }
}
