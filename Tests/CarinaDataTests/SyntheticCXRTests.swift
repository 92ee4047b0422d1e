// The built-in phantom dataset: deterministic, reports agree with labels, and findings change the image
// where they should.
import Foundation
import Testing
import CarinaData
import CarinaTensor

@Suite struct SyntheticCXRTests {
    let data = SyntheticCXR(count: 400, seed: 3, imageSize: 64)

    @Test func sameSeedAndIndexGiveTheSameSample() throws {
        #expect(try data.sample(at: 17) == SyntheticCXR(count: 400, seed: 3, imageSize: 64).sample(at: 17))
        #expect(try data.sample(at: 17).image != data.sample(at: 18).image)
        #expect(try data.sample(at: 17).image != SyntheticCXR(count: 400, seed: 4, imageSize: 64).sample(at: 17).image)
    }

    @Test func thePhantomsStayTheImagesEveryPublishedTableWasMadeWith() throws {
        // The renderer may get faster, never different: the README's tables (quickstart, comparisons) were
        // trained on these pixels: 96 of the quickstart's phantoms, hashed (FNV-1a) at the code that made them.
        var hash = FNV1a64()
        let quickstart = SyntheticCXR(count: 4096, seed: 1, imageSize: 128)
        for i in 0..<96 {
            guard case .uint8(let pixels) = try quickstart.sample(at: i).image.pixels else { Issue.record("not 8-bit"); return }
            hash.update(pixels)
        }
        #expect(hash.value == 0x51a5_5887_602b_3048, "phantom pixels changed: \(String(hash.value, radix: 16))")
    }

    @Test func aSamplesInfoWithoutItsImageIsTheSamples() throws {
        for i in [0, 17, 399] { #expect(try data.info(at: i) == SampleInfo(data.sample(at: i))) }
        #expect(throws: DataError.self) { try data.info(at: 400) }
    }

    @Test func reportsMentionExactlyThePositiveFindings() throws {
        let phrases: [String: [String]] = [
            "Cardiomegaly": ["enlarged", "cardiomegaly"], "Pleural Effusion": ["pleural effusion with", "pleural effusions", "pleural effusion is", "pleural effusion."],
            "Pneumothorax": ["pneumothorax."], "Consolidation": ["lobe consolidation", "consolidation in", "airspace opacity in"],
            "Nodule": ["small pulmonary nodule"], "Atelectasis": ["atelectasis"], "Edema": ["edema."],
        ]
        var counts: [String: Int] = [:]
        for i in 0..<data.count {
            let s = try data.sample(at: i)
            let text = s.report.lowercased()
            #expect(text.hasPrefix("findings: ") && text.contains("\n\nimpression: "))
            for (finding, cues) in phrases {
                let mentioned = cues.contains { text.contains($0) && !text.contains("no \($0)") }
                let positive = s.labels[finding] == 1
                if positive { counts[finding, default: 0] += 1 }
                // A negated mention ("no pleural effusion") never counts as a positive one.
                if positive { #expect(mentioned, "sample \(i): \(finding) positive but not reported: \(s.report)") }
            }
            let normal = s.labels["No Finding"] == 1
            let nothingElse = s.labels.filter { $0.key != "No Finding" }.values.allSatisfy { $0 == 0 }
            #expect(normal == nothingElse)
            if s.labels["Pleural Effusion"] == 0 { #expect(!text.contains("pleural effusion with") && !text.contains("pleural effusions.")) }
        }
        for finding in phrases.keys { #expect(counts[finding, default: 0] >= 20, "\(finding) appears only \(counts[finding, default: 0]) times") }
    }

    /// Negations name only absent findings, and they are said both alone ("No pleural effusion.") and in
    /// lists in any order — so a model can bind "no" to its finding rather than to a fixed list slot.
    @Test func negationsNameAbsentFindingsAloneAndInAnyOrder() throws {
        let terms: [String: String] = [
            "pleural effusion": "Pleural Effusion", "effusion": "Pleural Effusion", "pneumothorax": "Pneumothorax",
            "focal consolidation": "Consolidation", "consolidation": "Consolidation", "airspace opacity": "Consolidation",
            "pulmonary edema": "Edema", "edema": "Edema", "atelectasis": "Atelectasis", "pulmonary nodules": "Nodule",
            "suspicious nodule": "Nodule", "cardiomegaly": "Cardiomegaly",
        ]
        var alone: [String: Int] = [:], notFirst: [String: Int] = [:]
        for i in 0..<data.count {
            let s = try data.sample(at: i)
            for sentence in ReportSections.sentences(ReportSections.findingsAndImpression(s.report)) {
                let lower = sentence.lowercased().trimmingCharacters(in: .punctuationCharacters)
                guard let prefix = ["there is no ", "no evidence of ", "no "].first(where: { lower.hasPrefix($0) }) else { continue }
                let items = lower.dropFirst(prefix.count).replacingOccurrences(of: " or ", with: ", ").components(separatedBy: ", ")
                for (k, item) in items.enumerated() {
                    guard let finding = terms[item] else { continue }
                    #expect(s.labels[finding] == 0, "sample \(i): '\(sentence)' negates \(finding), which is present")
                    if items.count == 1 { alone[finding, default: 0] += 1 }
                    if k > 0 { notFirst[finding, default: 0] += 1 }
                }
            }
        }
        for finding in ["Pleural Effusion", "Pneumothorax", "Consolidation", "Edema", "Atelectasis", "Nodule", "Cardiomegaly"] {
            #expect(alone[finding, default: 0] >= 5, "\(finding) is negated alone only \(alone[finding, default: 0]) times")
        }
        for finding in ["Pleural Effusion", "Pneumothorax", "Consolidation", "Edema"] {
            #expect(notFirst[finding, default: 0] >= 5, "\(finding) is never negated later in a list")
        }
    }

    /// Mean brightness of a region (fractions of the image).
    func brightness(_ s: Sample, x: ClosedRange<Double>, y: ClosedRange<Double>) -> Double {
        guard case let .uint8(p) = s.image.pixels else { return .nan }
        let n = s.image.width
        var sum = 0.0, count = 0.0
        for j in 0..<n where y.contains(Double(j) / Double(n)) {
            for i in 0..<n where x.contains(Double(i) / Double(n)) { sum += Double(p[j * n + i]); count += 1 }
        }
        return sum / count
    }

    @Test func cardiomegalyWidensTheHeartShadow() throws {
        var enlarged: [Double] = [], normal: [Double] = []
        for i in 0..<200 {
            let s = try data.sample(at: i)
            // The band just beyond a normal heart's left border, at heart level.
            let v = brightness(s, x: 0.7...0.76, y: 0.6...0.68)
            if s.labels["Cardiomegaly"] == 1 { enlarged.append(v) } else if s.labels["Pleural Effusion"] == 0 { normal.append(v) }
        }
        let enlargedMean = enlarged.reduce(0, +) / Double(enlarged.count)
        let normalMean = normal.reduce(0, +) / Double(normal.count)
        #expect(enlargedMean > normalMean + 20, "\(enlargedMean) vs \(normalMean)")
    }

    @Test func splitsArePatientDisjointAndCoverEverySample() {
        let train = data.split("train"), valid = data.split("valid"), test = data.split("test")
        #expect(train.count + valid.count + test.count == data.count)
        let patients = { (s: [Int]) in Set(s.map { $0 / 3 }) }
        #expect(patients(train).isDisjoint(with: patients(valid)) && patients(train).isDisjoint(with: patients(test)))
        #expect(train.count > 250 && valid.count > 15 && test.count > 15)
    }

    @Test func shardsWrittenFromThePhantomsKeepTheirSplits() throws {
        // `carina synth write` then `carina eval --data`: the shards' valid split must be the one a run on
        // `data.train: synthetic` evaluated (the shard writer's own rule, by patient hash, gave 390 of the
        // quickstart's 4096 where the run evaluated 444).
        let dir = try TemporaryDirectory("synth-shards")
        defer { dir.remove() }
        let phantoms = SyntheticCXR(count: 120, seed: 1, imageSize: 32)
        let writer = try ShardWriter(directory: dir.path, imageSize: nil, name: "synthetic-cxr", classNames: phantoms.classNames)
        for i in 0..<phantoms.count { try writer.write(phantoms.sample(at: i)) }
        _ = try writer.finish()
        let shards = try ShardDataset(directory: dir.path)
        for name in SplitAssigner.names {
            #expect(shards.indices(split: name) == phantoms.split(name), "\(name)")
            #expect(!phantoms.split(name).isEmpty, "\(name)")
        }
        #expect(phantoms.split("validation").isEmpty)
    }
}
