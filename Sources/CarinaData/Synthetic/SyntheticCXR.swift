// The built-in dataset: phantom chest radiographs with consistent reports and labels, generated on the fly
// and deterministic for (seed, index), so it needs no files and every rank sees the same samples. Three
// studies per synthetic patient, so patient-disjoint splits are meaningful. Not for: real data (shards).
import CarinaTensor

public struct SyntheticCXR: SampleSource {
    public let count: Int
    public let seed: UInt64
    public let imageSize: Int
    /// Probability of each finding (before co-occurrence adjustments).
    public let prevalence: Float
    public var classNames: [String] { PhantomFindings.classNames }

    public init(count: Int, seed: UInt64 = 0, imageSize: Int = 128, prevalence: Float = 0.22) {
        self.count = count
        self.seed = seed
        self.imageSize = imageSize
        self.prevalence = prevalence
    }

    public func findings(at index: Int) -> PhantomFindings {
        var rng = RNG(seed: seed, "synthetic.findings", index)
        return PhantomFindings.draw(&rng, prevalence: prevalence)
    }

    public func sample(at index: Int) throws -> Sample {
        try check(index)
        let f = findings(at: index)
        var renderer = PhantomRenderer(size: imageSize, rng: RNG(seed: seed, "synthetic.image", index))
        let pixels = renderer.render(f)
        var words = RNG(seed: seed, "synthetic.report", index)
        let image = try Image(width: imageSize, height: imageSize, channels: 1, pixels: .uint8(pixels), source: "synthetic sample \(index)")
        return Sample(key: "synth-\(index)", image: image, report: PhantomReport.write(f, &words), labels: f.labels,
                      patientID: Self.patient(index), metadata: metadata(at: index))
    }

    /// Sample `index` without drawing its image or writing its report.
    public func info(at index: Int) throws -> SampleInfo {
        try check(index)
        return SampleInfo(labels: findings(at: index).labels, patientID: Self.patient(index), metadata: metadata(at: index))
    }

    private func check(_ index: Int) throws {
        guard index >= 0 && index < count else {
            throw DataError.badImage(source: "synthetic sample \(index)", problem: "index outside 0..<\(count)")
        }
    }

    /// Three studies per synthetic patient.
    static func patient(_ index: Int) -> String { "synth-p\(index / 3)" }
    /// The view, the source and the sample's split under `split(_:)`, as an official split: shards written
    /// from the phantoms (`carina synth write`) keep the train/valid/test that `data.train: synthetic` trains
    /// and evaluates on, so `carina eval --data` on them scores a run's own evaluation set.
    func metadata(at index: Int) -> [String: String] {
        ["view": "PA", "source": "carina synthetic phantom", SplitAssigner.officialSplitKey: splitName(patient: index / 3)]
    }

    /// The report of sample `index` without drawing its image (vocabulary building reads every report).
    public func report(at index: Int) -> String {
        var words = RNG(seed: seed, "synthetic.report", index)
        return PhantomReport.write(findings(at: index), &words)
    }

    /// Patient-disjoint split by a hash of the patient: about 80 % train, 10 % valid, 10 % test.
    /// A name other than train, valid and test has no samples.
    public func split(_ name: String) -> [Int] {
        (0..<count).filter { splitName(patient: $0 / 3) == name }
    }

    /// "train", "valid" or "test" for synthetic patient `patient` (samples 3·patient ..< 3·patient + 3).
    func splitName(patient: Int) -> String {
        var rng = RNG(seed: seed, "synthetic.split", patient)
        let u = rng.uniform()
        return u < 0.8 ? "train" : u < 0.9 ? "valid" : "test"
    }
}
