// `carina prepare LAYOUT --root DIR --out DIR`: a dataset in its published layout -> Carina shards.
// Not for: the importers or the shard format themselves (CarinaData); this only parses options and prints.

import ArgumentParser
import CarinaData
import CarinaTensor
import Foundation
import Synchronization

struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Turn a chest X-ray dataset in its published layout into WebDataset-style shards with an index.",
        discussion: """
            Layouts: \(Layout.allCases.map(\.rawValue).joined(separator: ", ")).
            Writes shard-NNNNNN.tar (KEY.png grayscale, KEY.txt report, KEY.json labels and metadata), one
            shard-NNNNNN.idx per shard and, last, dataset.json (classes, splits, content hash).
            """
    )

    enum Layout: String, CaseIterable, ExpressibleByArgument {
        case nih = "nih-cxr14", covid = "covid-cxr", chexpert, vindr = "vindr-cxr", iu = "iu-xray", mimic = "mimic-cxr", csv, jsonl
    }

    enum ResizeMode: String, CaseIterable, ExpressibleByArgument {
        case shortSide = "short-side", square
    }

    @Argument(help: "The dataset layout: \(Layout.allCases.map(\.rawValue).joined(separator: ", ")).")
    var layout: Layout

    @Option(help: "The dataset's folder as published.")
    var root: String

    @Option(help: "Where the shards go (created; an earlier dataset there is replaced).")
    var out: String

    @Option(help: "Resize images: the short side (or both sides with --resize square) to N pixels. Default: keep the size.")
    var imageSize: Int?

    @Option(help: "How --image-size applies: short-side (keep the aspect ratio) or square (N x N).")
    var resize: ResizeMode = .shortSide

    @Option(help: "Samples per shard file.")
    var samplesPerShard = 1000

    @Flag(help: "Skip bad samples (unreadable image, empty report, bad row), count them and print the first reasons, instead of stopping.")
    var skipBadSamples = false

    @Option(help: "Stop after writing N samples.")
    var limit: Int?

    @Flag(help: "Read images that lie outside --root (an absolute path, '..', or a symbolic link leading out). Without it such a record is an error naming the file, the row and the path.")
    var allowOutsideRoot = false

    @Option(help: "Refuse images whose header says more pixels (width x height) than this, before decoding them.")
    var maxImagePixels = Image.defaultMaxPixels

    @Flag(help: "Keep samples whose report is empty (covid-cxr notes, iu-xray, mimic-cxr, csv/jsonl with a report column).")
    var allowEmptyReports = false

    @Option(help: "CheXpert-style uncertain labels (-1.0): ones, zeros or ignore (stay -1, ignored by losses). chexpert, mimic-cxr, csv/jsonl.")
    var uncertain: String = "ignore"

    @Flag(help: "chexpert: frontal views only (Frontal/Lateral is Frontal); mimic-cxr: frontal views (AP, PA) only.")
    var frontalOnly = false

    @Option(help: "mimic-cxr: leave out studies whose FINDINGS + IMPRESSION have fewer sentences.")
    var minReportSentences = 0

    @Option(help: "covid-cxr, csv, jsonl: the manifest file (default: manifest.csv or manifest.jsonl in --root).")
    var manifest: String?

    @Option(help: "vindr-cxr: the annotation CSV (default: train.csv, annotations/annotations_train.csv or vinbigdata-train.csv in --root).")
    var annotations: String?

    @Option(help: "csv, jsonl: comma-separated columns holding one finding each (1 / 0 / -1 / blank) instead of a '|'-joined labels column.")
    var labelColumns: String?

    @Option(help: "csv, jsonl: comma-separated class names in order; labels outside them are errors.")
    var classes: String?

    @Option(help: "Seed of the patient-disjoint 80/10/10 split (used where the dataset has no official split).")
    var seed: UInt64 = 0

    @Option(help: "The dataset's name in dataset.json (default: the --out folder's name).")
    var name: String?

    @Flag(help: "Afterwards, check every shard against the index and content hash, then read every sample in random order and print the read speed.")
    var verify = false

    func validate() throws {
        if let imageSize, imageSize <= 0 { throw ValidationError("--image-size must be positive") }
        if samplesPerShard <= 0 { throw ValidationError("--samples-per-shard must be positive") }
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
        if maxImagePixels <= 0 { throw ValidationError("--max-image-pixels must be positive") }
        if UncertaintyPolicy(rawValue: uncertain) == nil { throw ValidationError("--uncertain must be ones, zeros or ignore, got '\(uncertain)'") }
        if frontalOnly && layout != .mimic && layout != .chexpert {
            throw ValidationError("--frontal-only applies to chexpert and mimic-cxr only")
        }
        if minReportSentences != 0 && layout != .mimic { throw ValidationError("--min-report-sentences applies to mimic-cxr only") }
        if (labelColumns != nil || classes != nil) && layout != .csv && layout != .jsonl {
            throw ValidationError("--label-columns and --classes apply to csv and jsonl only")
        }
        if annotations != nil && layout != .vindr { throw ValidationError("--annotations applies to vindr-cxr only") }
        if manifest != nil && ![.covid, .csv, .jsonl].contains(layout) { throw ValidationError("--manifest applies to covid-cxr, csv and jsonl only") }
    }

    func run() throws {
        _ = try Runtime.start()
        let reports = ReportRules(allowEmpty: allowEmptyReports, minimumSentences: minReportSentences)
        let policy = UncertaintyPolicy(rawValue: uncertain) ?? .ignore
        func list(_ text: String?) -> [String]? {
            text.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        }
        let importer: any DatasetImporter
        switch layout {
        case .nih: importer = NIHChestXray14Importer(root: root)
        case .covid: importer = COVIDCXRImporter(root: root, manifest: manifest, reports: reports)
        case .chexpert: importer = CheXpertImporter(root: root, uncertainty: policy, frontalOnly: frontalOnly)
        case .vindr: importer = VinDrCXRImporter(root: root, annotations: annotations)
        case .iu: importer = IUXrayImporter(root: root, reports: reports)
        case .mimic: importer = MIMICCXRImporter(root: root, uncertainty: policy, frontalOnly: frontalOnly, reports: reports)
        case .csv, .jsonl:
            let format: ManifestImporter.Format = layout == .csv ? .csv : .jsonl
            importer = ManifestImporter(manifest: manifest ?? root + "/manifest." + format.rawValue, format: format,
                                        labelColumns: list(labelColumns), classes: list(classes), uncertainty: policy, reports: reports)
        }
        var options = PrepareOptions()
        options.samplesPerShard = samplesPerShard
        options.imageSize = imageSize.map { resize == .square ? .square($0) : .shortSide($0) }
        options.name = name
        options.skipBadSamples = skipBadSamples
        options.limit = limit
        options.splits = SplitAssigner(seed: seed)
        options.imageRoot = allowOutsideRoot ? nil : root
        options.maxImagePixels = maxImagePixels
        let report = try Prepare.run(importer, into: out, options: options) { print($0) }
        let m = report.manifest
        print("prepared \(m.sampleCount) samples of \(m.name) (\(m.layout ?? layout.rawValue)) into \(m.shards.count) shards in \(out)")
        print(String(format: "  %.1f MB, %.0f bytes per sample, %.1f s, %.0f samples/s", Double(report.bytes) / 1e6,
                     Double(report.bytes) / Double(max(m.sampleCount, 1)), report.seconds, report.samplesPerSecond))
        print("  splits: " + SplitAssigner.names.map { "\($0) \(m.splits[$0]?.count ?? 0)" }.joined(separator: ", ")
              + "; classes: \(m.classNames.count); content hash \(m.contentHash)")
        if verify { try verifyAndTimeReads(out) }
        if report.skipped > 0 {
            print("  skipped \(report.skipped) bad samples; the first:")
            for problem in report.firstProblems { print("    \(problem)") }
        }
    }

    /// Full check, then random-order reads (PNG decode included) on Parallel.threads threads.
    private func verifyAndTimeReads(_ directory: String) throws {
        let dataset = try ShardDataset(directory: directory, maxImagePixels: maxImagePixels)
        try dataset.verify()
        var rng = RNG(seed: seed, "prepare.verify")
        let order = rng.permutation(dataset.count)
        let failure = Mutex<String?>(nil)
        let start = Date()
        Parallel.forEach(order.count) { i in
            do { _ = try dataset.sample(at: order[i]) } catch { failure.withLock { $0 = $0 ?? "\(error)" } }
        }
        let seconds = Date().timeIntervalSince(start)
        if let problem = failure.withLock({ $0 }) { throw ValidationFailure(problem) }
        print(String(format: "  verified; random reads: %d samples in %.2f s, %.0f samples/s on %d threads (PNG decode included)",
                     dataset.count, seconds, Double(dataset.count) / max(seconds, 1e-9), Parallel.threads))
    }
}
