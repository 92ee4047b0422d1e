// What a run trains on: `data.trainFraction` keeps a seeded share of the training split (synthetic or
// shards, the same every time), `data.holdOutClasses` builds the method with the seen findings only and
// evaluation reports the seen and the held-out findings apart, in `carina train` and in `carina eval`.
// Not for: the loader's view of a class subset (LoaderTests) or the metrics themselves (CarinaEvalTests).
import Foundation
import Testing
import CarinaData
import CarinaDist
import CarinaModels
import CarinaTestSupport
@testable import CarinaTrain

/// A run directory with the tiny CLIP config, `data:` lines added and `eval:` replaced.
func selectionRun(data: String, eval: String = "  linearProbe: false\n  retrieval: false\n  maxSamples: 24\n  bootstrap: 20\n  compareUntrained: false",
                  steps: Int = 2, method: String? = nil) throws -> (config: String, run: String) {
    let dir = NSTemporaryDirectory() + "carina-selection-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var yaml = tinyCLIPRunConfig(steps: steps, checkpointEvery: 0, eval: eval)
        .replacingOccurrences(of: "  syntheticCount: 120\n", with: "  syntheticCount: 120\n" + data.split(separator: "\n").map { "  \($0)\n" }.joined())
    if let method { yaml = method + "\n" + yaml[yaml.range(of: "data:")!.lowerBound...] }
    try yaml.write(toFile: dir + "/run.yaml", atomically: true, encoding: .utf8)
    return (dir + "/run.yaml", dir + "/run")
}

/// The training and evaluation indices `config` selects (no training).
func selectedData(_ config: String, _ run: String, ranks: Int = 1) throws -> [[Int]] {
    try LocalWorld.run(size: ranks) { comm in
        let data = try TrainingRun(configPath: config, runDirectory: run, communicator: comm) { _ in }.data()
        return [data.train, data.evaluation]
    }[0]
}

/// What reading `config`'s data throws, as text.
func dataError(_ config: String, _ run: String) -> String {
    do {
        _ = try selectedData(config, run)
        return "no error"
    } catch { return "\(error)" }
}

@Suite struct DataSelectionTests {
    static let heldOut = ["Cardiomegaly", "Pneumothorax"]
    static var seen: [String] { PhantomFindings.classNames.filter { !heldOut.contains($0) } }

    @Test func aTrainFractionKeepsThatShareOfTheSplitTheSameOnAnyWorldSize() throws {
        let whole = try selectedData(selectionRun(data: "").config, NSTemporaryDirectory() + "carina-unused-\(UUID().uuidString)")
        let a = try selectionRun(data: "trainFraction: 0.25")
        let one = try selectedData(a.config, a.run), two = try selectedData(a.config, a.run, ranks: 2)
        #expect(one[0].count == Int((0.25 * Double(whole[0].count)).rounded()) && one[0] == one[0].sorted())
        #expect(Set(one[0]).isSubset(of: whole[0]) && one[0] == two[0] && one[1] == whole[1])
        // Another seed draws other samples; a fraction too small for one sample still keeps one.
        let reseeded = try selectionRun(data: "trainFraction: 0.25")
        try String(contentsOfFile: reseeded.config, encoding: .utf8).replacingOccurrences(of: "seed: 3", with: "seed: 5")
            .write(toFile: reseeded.config, atomically: true, encoding: .utf8)
        #expect(try selectedData(reseeded.config, reseeded.run)[0] != one[0])
        let tiny = try selectionRun(data: "trainFraction: 0.0001")
        #expect(try selectedData(tiny.config, tiny.run)[0].count == 1)
    }

    @Test func aTrainFractionAppliesToShardsToo() throws {
        let a = try selectionRun(data: "trainFraction: 0.5")
        let shards = (a.config as NSString).deletingLastPathComponent + "/shards"
        let source = SyntheticCXR(count: 60, seed: 1, imageSize: 32)
        let writer = try ShardWriter(directory: shards, samplesPerShard: 50, imageSize: nil, name: "phantoms", classNames: source.classNames)
        for i in 0..<source.count { try writer.write(source.sample(at: i)) }
        _ = try writer.finish()
        try String(contentsOfFile: a.config, encoding: .utf8).replacingOccurrences(of: "  syntheticCount: 120\n", with: "  train: \(shards)\n")
            .write(toFile: a.config, atomically: true, encoding: .utf8)
        let split = try ShardDataset(directory: shards).indices(split: "train")
        let kept = try selectedData(a.config, a.run)[0]
        #expect(kept.count == Int((0.5 * Double(split.count)).rounded()) && Set(kept).isSubset(of: split) && kept == kept.sorted())
        #expect(kept == (try selectedData(a.config, a.run)[0]))
    }

    /// `data.samplePer: study`: studies by (patient, study_id), a sample without one on its own; a run trains
    /// with one image of each study per epoch; another value is an error naming the key.
    @Test func samplePerStudyGroupsTheImagesOfAStudy() throws {
        let a = try selectionRun(data: "samplePer: study")
        let shards = (a.config as NSString).deletingLastPathComponent + "/shards"
        let source = SyntheticCXR(count: 90, seed: 1, imageSize: 32)
        let writer = try ShardWriter(directory: shards, samplesPerShard: 50, imageSize: nil, name: "phantoms", classNames: source.classNames)
        for i in 0..<source.count {
            var sample = try source.sample(at: i)
            if i < 60 { sample.metadata["study_id"] = "\(i / 3)" }  // a study of a patient's three images; then none
            try writer.write(sample)
        }
        _ = try writer.finish()
        try String(contentsOfFile: a.config, encoding: .utf8).replacingOccurrences(of: "  syntheticCount: 120\n", with: "  train: \(shards)\n")
            .write(toFile: a.config, atomically: true, encoding: .utf8)
        let dataset = try ShardDataset(directory: shards)
        let trainIndices = dataset.indices(split: "train")
        let groups = try TrainingRun.studies(SubsetSource(dataset, indices: trainIndices))
        #expect(groups.flatMap { $0 }.sorted() == Array(0..<trainIndices.count))
        for group in groups {
            let originals = group.map { trainIndices[$0] }
            #expect(originals.count == 1 || (originals.count == 3 && originals.allSatisfy { $0 < 60 && $0 / 3 == originals[0] / 3 }), "\(originals)")
        }
        #expect(groups.contains { $0.count == 3 } && groups.contains { $0.count == 1 && trainIndices[$0[0]] >= 60 })
        #expect(try train(a.config, a.run, ranks: 1).steps == 2)
        let bad = try selectionRun(data: "samplePer: patient")
        let text = dataError(bad.config, bad.run)
        #expect(text.contains(bad.config) && text.contains("data.samplePer") && text.contains("'patient'"), "\(text)")
    }

    /// Further phantoms for the balanced set need phantoms and a positive count: otherwise the run stops at
    /// start-up, not after training.
    @Test func aBadSingleLabelSyntheticCountStopsTheRunAtStartUp() throws {
        for (data, count) in [("", -1), ("train: /nonexistent/shards", 100)] {
            let a = try selectionRun(data: data, eval: "  linearProbe: false\n  singleLabelSyntheticCount: \(count)")
            let text = dataError(a.config, a.run)
            #expect(text.contains(a.config) && text.contains("eval.singleLabelSyntheticCount is \(count)") && text.contains("data.train: synthetic"), "\(text)")
        }
    }

    @Test func aSplitThePhantomsDoNotHaveIsRejectedNamingFileAndKey() throws {
        // It once evaluated on the test split without a word.
        let a = try selectionRun(data: "evalSplit: validation")
        let text = dataError(a.config, a.run)
        #expect(text.contains(a.config) && text.contains("data.evalSplit 'validation'") && text.contains("train, valid, test"), "\(text)")
        let b = try selectionRun(data: "evalSplit: test")
        #expect(try selectedData(b.config, b.run)[1] == SyntheticCXR(count: 120, seed: 3, imageSize: 32).split("test"))
    }

    @Test func aTrainFractionOutsideZeroToOneIsRejectedNamingFileAndKey() throws {
        for value in ["0", "-0.5", "1.5"] {
            let a = try selectionRun(data: "trainFraction: \(value)")
            let text = dataError(a.config, a.run)
            #expect(text.contains(a.config) && text.contains("data.trainFraction") && text.contains("(0, 1]"), "\(text)")
        }
    }

    @Test func anUnknownOrEveryHeldOutClassIsRejectedNamingFileKeyAndFindings() throws {
        let a = try selectionRun(data: "holdOutClasses: [Cardiomegaly, Pneumonitis]")
        let text = dataError(a.config, a.run)
        #expect(text.contains(a.config) && text.contains("data.holdOutClasses") && text.contains("'Pneumonitis'")
                && text.contains(PhantomFindings.classNames.joined(separator: ", ")), "\(text)")
        let b = try selectionRun(data: "holdOutClasses: [\(PhantomFindings.classNames.joined(separator: ", "))]")
        let every = dataError(b.config, b.run)
        #expect(every.contains(b.config) && every.contains("data.holdOutClasses") && every.contains("at least one"), "\(every)")
    }

    @Test func aFineTuneIsBuiltWithTheSeenClassesAndHasNoUnseenClassifierSection() throws {
        let a = try selectionRun(data: "holdOutClasses: [Pneumothorax, Cardiomegaly]", steps: 2, method: """
            method: finetune
            seed: 3
            model:
              encoder:
                patchSize: 8
                visionWidth: 16
                visionDepth: 1
                visionHeads: 2
            """)
        let classes = try LocalWorld.run(size: 1) { comm -> [String] in
            let r = try TrainingRun(configPath: a.config, runDirectory: a.run, communicator: comm) { _ in }
            let data = try r.data()
            let method = try r.freshMethod(data, r.tokenizer(data)).method
            return try #require(method as? FineTuneMethod).classNames
        }[0]
        #expect(classes == Self.seen)
        let summary = try train(a.config, a.run, ranks: 1)
        #expect(try String(contentsOfFile: a.run + "/classes.txt", encoding: .utf8) == Self.seen.map { $0 + "\n" }.joined())
        #expect(try String(contentsOfFile: a.run + "/heldout.txt", encoding: .utf8) == "Cardiomegaly\nPneumothorax\n")
        let report = try #require(summary.evaluation)
        #expect(report.section("classifier")?.perClass.map(\.name) == Self.seen)
        #expect(report.section("classifier_seen")?.perClass.map(\.name) == Self.seen && report.section("classifier_unseen") == nil)
    }

    @Test func heldOutClassesAreReportedApartInTrainAndInEval() throws {
        let a = try selectionRun(data: "holdOutClasses: [Pneumothorax, Cardiomegaly]", steps: 3)
        let summary = try train(a.config, a.run, ranks: 1)
        #expect(try String(contentsOfFile: a.run + "/classes.txt", encoding: .utf8) == Self.seen.map { $0 + "\n" }.joined())
        let report = try #require(summary.evaluation)
        try expectSeenAndUnseenPartition(report)

        // `carina eval --run` knows the held-out findings from the run directory.
        let shards = (a.config as NSString).deletingLastPathComponent + "/shards"
        let source = SyntheticCXR(count: 40, seed: 2, imageSize: 32)
        let writer = try ShardWriter(directory: shards, samplesPerShard: 50, imageSize: nil, name: "phantoms", classNames: source.classNames)
        for i in 0..<source.count { try writer.write(source.sample(at: i)) }
        _ = try writer.finish()
        let evaluated = try LocalWorld.run(size: 1) { comm in
            var options = EvaluationRun.Options(dataset: shards)
            (options.split, options.fractions, options.bootstrap, options.compareUntrained) = ("train", [1], 10, false)
            return try EvaluationRun(runDirectory: a.run, communicator: comm).run(options).trained
        }[0]
        try expectSeenAndUnseenPartition(evaluated)
    }

    /// The zero-shot section's findings split into its seen and unseen sections, each finding's AUC the same
    /// in both, and the table shows both macro AUCs and marks the held-out findings.
    func expectSeenAndUnseenPartition(_ report: EvaluationReport) throws {
        let all = try #require(report.section("zero_shot")), seen = try #require(report.section("zero_shot_seen"))
        let unseen = try #require(report.section("zero_shot_unseen"))
        #expect(Set(unseen.perClass.map(\.name)) == Set(Self.heldOut))
        #expect(seen.perClass.map(\.name) == all.perClass.map(\.name).filter { !Self.heldOut.contains($0) })
        for row in seen.perClass + unseen.perClass { #expect(all.perClass.first { $0.name == row.name }?.auc == row.auc, "\(row.name)") }
        #expect(report.values["zero_shot_unseen/macro_auc"] != nil && report.values["zero_shot_seen/map_ci_low"] != nil)
        #expect(seen.title == "zero-shot, seen classes" && unseen.title == "zero-shot, unseen classes")
        let table = EvaluationTable.render(report)
        #expect(table.contains("zero-shot, seen classes macro AUC") && table.contains("zero-shot, unseen classes macro AUC"), "\(table)")
        #expect(table.contains("Pneumothorax (held out)") && !table.contains("Edema (held out)"), "\(table)")
    }
}
