// `carina bench checkpoint`: checkpoint size against raw Float32 and write / read throughput (MB/s of raw
// data; writes include both fsyncs and the rename) for plain and byte-shuffled zstd at several levels, on
// random-normal tensors and on trained-like CLIP weights (init, then a few hundred AdamW steps on noise, so
// low mantissa bits are not all zero) with and without their AdamW moments. Not for: correctness (the tests).
import CarinaCheckpoint
import CarinaModels
import CarinaNN
import Foundation

public struct CheckpointBenchmark {
    public var config = CLIPConfig()
    /// AdamW steps on gradient noise that turn the initial weights into trained-like ones.
    public var adamSteps = 300
    public var levels = [3, 9]
    public var threads = 2
    public var repeats = 3
    /// Where the files are written (a temporary folder when nil); it should be on the disk runs use.
    public var directory: String?

    public init() {}

    /// A tiny model, 3 AdamW steps, one repeat: a smoke test that runs in a second.
    public static var quick: CheckpointBenchmark {
        var b = CheckpointBenchmark()
        b.config = .test
        b.adamSteps = 3
        b.repeats = 1
        return b
    }

    public struct Row: Sendable {
        public let data: String
        public let level: Int
        public let shuffle: Bool
        public let rawBytes: Int
        public let storedBytes: Int
        /// Compression alone, in memory.
        public let encodeSeconds: Double
        public let writeSeconds: Double
        public let readSeconds: Double
        public var ratio: Double { Double(storedBytes) / Double(rawBytes) }
        public var encodeMBps: Double { Double(rawBytes) / 1e6 / encodeSeconds }
        public var writeMBps: Double { Double(rawBytes) / 1e6 / writeSeconds }
        public var readMBps: Double { Double(rawBytes) / 1e6 / readSeconds }
    }

    /// The three data sets: random normal tensors of the shapes of CLIP's weights and AdamW moments;
    /// trained-like CLIP weights; the same with their AdamW moments (what a training checkpoint holds).
    public func datasets() throws -> [(name: String, contents: CheckpointContents)] {
        let model = CLIPModel(config: config, seed: 1)
        let parameters = model.namedParameters
        let optimizer = AdamW(parameters, learningRate: 3e-4, betas: (0.9, 0.98), weightDecay: 0.1)
        // Gradients are windows into a pool of normal noise at random offsets: cheap, and every step differs.
        var rng = RNG(seed: 1, "bench.checkpoint.gradients")
        let pool = Tensor.normal([(1 << 20) + 7], std: 1e-2, rng: &rng)  // (P)
        for p in parameters { p.tensor.grad = Tensor.zeros(p.tensor.shape) }
        for _ in 0..<adamSteps {
            for p in parameters {
                let g = p.tensor.grad!
                var filled = 0
                var start = rng.int(pool.count)
                while filled < g.count {
                    let n = min(g.count - filled, pool.count - start)
                    (g.pointer + filled).update(from: pool.pointer + start, count: n)
                    filled += n
                    start = 0
                }
            }
            try optimizer.step()
        }
        let state = RunState(step: adamSteps, epoch: 0, samplesConsumed: 0, seed: 1, worldSize: 1, optimizerStep: adamSteps,
                             config: "bench: checkpoint\n")
        let weights = parameters.map { (name: $0.name, tensor: $0.tensor) }
        var noise = RNG(seed: 2, "bench.checkpoint.random")
        let random = (weights + optimizer.state).map { (name: $0.name, tensor: Tensor.normal($0.tensor.shape, std: 0.02, rng: &noise)) }
        return [("random normal (weights + moments shapes)", CheckpointContents(model: random, optimizer: [], state: state)),
                ("CLIP weights, \(adamSteps) AdamW steps", CheckpointContents(model: weights, optimizer: [], state: state)),
                ("CLIP weights + AdamW moments", CheckpointContents(model: weights, optimizer: optimizer.state, state: state))]
    }

    public func run() throws -> [Row] {
        let directory = self.directory ?? NSTemporaryDirectory() + "carina-bench-checkpoint-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { if self.directory == nil { try? FileManager.default.removeItem(atPath: directory) } }
        var rows: [Row] = []
        for (name, contents) in try datasets() {
            for level in levels {
                for shuffle in [false, true] {
                    let path = directory + "/bench.ckpt"
                    let encode = try Timing.median(warmup: 1, repeats: repeats) {
                        _ = try CheckpointFile.encode(contents, path: path, level: level, shuffle: shuffle, threads: threads)
                    }
                    let write = try Timing.median(warmup: 1, repeats: repeats) {
                        try CheckpointFile.write(contents, to: path, level: level, shuffle: shuffle, threads: threads)
                    }
                    let read = try Timing.median(warmup: 1, repeats: repeats) { _ = try CheckpointFile.read(path, threads: threads) }
                    let summary = try CheckpointFile.summary(path)
                    rows.append(Row(data: name, level: level, shuffle: shuffle, rawBytes: summary.rawBytes, storedBytes: summary.storedBytes,
                                    encodeSeconds: encode, writeSeconds: write, readSeconds: read))
                }
            }
        }
        return rows
    }

    public static func table(_ rows: [Row], threads: Int) -> String {
        var t = TextTable(["data", "zstd level", "byte shuffle", "raw MB", "stored / raw", "compress MB/s", "write MB/s", "read MB/s"])
        for r in rows {
            t.add([r.data, "\(r.level)", r.shuffle ? "yes" : "no", format(Double(r.rawBytes) / 1e6), format(r.ratio, 3),
                   format(r.encodeMBps), format(r.writeMBps), format(r.readMBps)])
        }
        return t.rendered + "\n(\(threads) compression threads; MB/s of raw Float32 data; compress: in memory only; write: compress + write + fsync of file and directory; read: read + decompress + verify every checksum)"
    }
}
