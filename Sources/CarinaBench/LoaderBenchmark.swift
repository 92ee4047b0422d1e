// `carina bench loader`: samples/s the data pipeline delivers (load or generate, decode, augment, tokenize,
// assemble) with 1 and 2 threads, to set beside what a training step consumes (`carina bench train`).
import CarinaData
import CarinaNN
import Foundation

public struct LoaderBenchmark {
    public var batches = 8
    public var batchSize = 64
    public var imageSize = 128

    public init() {}

    public struct Row: Sendable {
        public let source: String
        public let threads: Int
        public let samplesPerSecond: Double
    }

    /// Assembles `batches` training batches (augmentation on, reports tokenized) from `source`.
    public func run(_ source: SampleSource, name: String, threads: [Int] = [1, 2]) throws -> [Row] {
        let tokenizer = try WordPieceTokenizer(vocabulary: VocabularyBuilder.build(
            corpus: (0..<min(source.count, 200)).map { (try? source.sample(at: $0).report) ?? "" }, size: 2048))
        var rows: [Row] = []
        for t in threads {
            let assembler = BatchAssembler(source: source, transform: ImageTransform(size: imageSize, train: true), seed: 1,
                                           text: TextPipeline(tokenizer: tokenizer, contextLength: 64, training: true), threads: t)
            let seconds = try Timing.median(warmup: 1, repeats: 1) {
                for b in 0..<batches {
                    let indices = (0..<batchSize).map { (b * batchSize + $0) % source.count }
                    _ = try assembler.assemble(indices: indices, epoch: 0)
                }
            }
            rows.append(Row(source: name, threads: t, samplesPerSecond: Double(batches * batchSize) / seconds))
        }
        return rows
    }

    public static func table(_ rows: [Row]) -> String {
        var t = TextTable(["source", "threads", "samples/s"])
        for r in rows { t.add([r.source, "\(r.threads)", format(r.samplesPerSecond)]) }
        return t.rendered
    }
}
