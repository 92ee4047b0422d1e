// The prefetching loader: a background thread assembles the next batches (this rank's slice of each global
// batch from the distributed sampler, decoded, augmented and tokenized on several threads) while the
// current step runs, at most `prefetch` batches ahead. A batch's contents depend only on its sample
// indices, the seed and the epoch, never on thread timing. Not for: evaluation order (EvaluationBatches).
import CarinaDist
import CarinaTensor
import Foundation

/// Assembles batches from samples: images through a transform, labels in class order, reports through the
/// text pipeline (when the method reads text).
public struct BatchAssembler: Sendable {
    public let source: SampleSource
    public let transform: ImageTransform
    public let seed: UInt64
    /// Nil when the method reads no text: reports are still carried, never tokenized.
    public let text: TextPipeline?
    public let threads: Int
    /// Replace a sample that fails to load by the next index that loads (counted) instead of failing.
    public let skipBadSamples: Bool

    public init(source: SampleSource, transform: ImageTransform, seed: UInt64, text: TextPipeline? = nil, threads: Int = 2,
                skipBadSamples: Bool = false) {
        self.source = source
        self.transform = transform
        self.seed = seed
        self.text = text
        self.threads = max(1, threads)
        self.skipBadSamples = skipBadSamples
    }

    /// The batch of samples `indices` in `epoch`; also returns how many bad samples were replaced.
    public func assemble(indices: [Int], epoch: Int) throws -> (batch: Batch, replaced: Int) {
        let b = indices.count, s = transform.size, c = source.classNames.count
        let images = Tensor(uninitialized: [b, 1, s, s])
        let labels = Tensor.full([b, c], -1), mask = Tensor.zeros([b, c]), uncertain = Tensor.zeros([b, c])
        var encoded = [TextPipeline.Encoded?](repeating: nil, count: b)
        var reports = [String](repeating: "", count: b)
        var errors = [(any Error)?](repeating: nil, count: b)
        var replacedFlags = [Bool](repeating: false, count: b)
        let classIndex = Dictionary(uniqueKeysWithValues: source.classNames.enumerated().map { ($1, $0) })
        reports.withUnsafeMutableBufferPointer { reportBuffer in
            encoded.withUnsafeMutableBufferPointer { encodedBuffer in
                errors.withUnsafeMutableBufferPointer { errorBuffer in
                    replacedFlags.withUnsafeMutableBufferPointer { replacedBuffer in
                        let shared = UncheckedSendable((reportBuffer, encodedBuffer, errorBuffer, replacedBuffer))
                        let work = { (r: Int) in
                            let (reportsOut, encodedOut, errorsOut, replacedOut) = shared.value
                            do {
                                let (index, sample, replaced) = try self.load(indices[r])
                                replacedOut[r] = replaced
                                self.transform.apply(sample.image, seed: self.seed, epoch: epoch, sampleIndex: index, into: images.pointer + r * s * s)
                                for (name, value) in sample.labels {
                                    guard let j = classIndex[name] else { continue }
                                    labels.pointer[r * c + j] = value
                                    mask.pointer[r * c + j] = value == 0 || value == 1 ? 1 : 0
                                    uncertain.pointer[r * c + j] = value == -1 ? 1 : 0
                                }
                                if let text = self.text {
                                    let e = text.encode(sample.report, seed: self.seed, epoch: epoch, sampleIndex: index)
                                    encodedOut[r] = e
                                    reportsOut[r] = e.report
                                } else {
                                    reportsOut[r] = sample.report
                                }
                            } catch {
                                errorsOut[r] = error
                            }
                        }
                        if threads == 1 || b == 1 {
                            for r in 0..<b { work(r) }
                        } else {
                            let perThread = (b + threads - 1) / threads
                            let body = UncheckedSendable(work)
                            DispatchQueue.concurrentPerform(iterations: threads) { k in
                                let (lo, hi) = (k * perThread, min(b, (k + 1) * perThread))
                                if lo < hi { for r in lo..<hi { body.value(r) } }
                            }
                        }
                    }
                }
            }
        }
        if let first = errors.compactMap({ $0 }).first { throw first }
        var textBatch: TextBatch? = nil
        if let text {
            let rows = encoded.map { $0! }, t = text.contextLength, shape = [b, t]
            let wants = text.requirements
            textBatch = TextBatch(ids: IndexTensor(shape: shape, values: rows.flatMap(\.ids)),
                                  padding: Tensor(shape: shape, values: rows.flatMap(\.padding)),
                                  sentenceIDs: wants.sentences == nil ? nil : IndexTensor(shape: shape, values: rows.flatMap(\.sentenceIDs)),
                                  sentenceCounts: wants.sentences == nil ? nil : rows.map(\.sentenceCount),
                                  maskedIDs: wants.maskedTokens == nil ? nil : IndexTensor(shape: shape, values: rows.flatMap(\.maskedIDs)),
                                  maskLabels: wants.maskedTokens == nil ? nil : IndexTensor(shape: shape, values: rows.flatMap(\.maskLabels)))
        }
        let batch = Batch(epoch: epoch, indices: indices, images: images, reports: reports, labels: labels, labelMask: mask,
                          uncertain: uncertain, text: textBatch)
        return (batch, replacedFlags.filter { $0 }.count)
    }

    /// Loads sample `index`; with skipBadSamples a failing sample is replaced by the next index (mod count)
    /// that loads, at most 16 tries. Returns the index actually used.
    func load(_ index: Int) throws -> (Int, Sample, Bool) {
        do {
            return (index, try source.sample(at: index), false)
        } catch {
            guard skipBadSamples else {
                throw DataError.badSample(index: index, detail: "\(error)")
            }
            for k in 1...16 {
                let other = (index + k) % source.count
                if let s = try? source.sample(at: other) { return (other, s, true) }
            }
            throw DataError.badSample(index: index, detail: "\(error); the next 16 samples failed too")
        }
    }
}

public final class BatchLoader: @unchecked Sendable {
    private let assembler: BatchAssembler
    private let rank: Int, worldSize: Int
    private let condition = NSCondition()
    private var queue: [(Result<Batch, any Error>, SamplerState)] = []
    private var stopped = false
    private let prefetch: Int
    private var current: SamplerState
    /// Samples replaced because they failed to load (with skipBadSamples).
    public private(set) var replacedSamples = 0

    public init(assembler: BatchAssembler, sampler: DistributedSampler, rank: Int, worldSize: Int, prefetch: Int = 4) {
        self.assembler = assembler
        self.rank = rank
        self.worldSize = worldSize
        self.prefetch = max(1, prefetch)
        current = sampler.state
        let thread = Thread { [weak self] in self?.produce(sampler) }
        thread.name = "carina.loader"
        thread.start()
    }

    deinit {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// The sampler position after the last batch `next()` returned: what a checkpoint saves.
    public var samplerState: SamplerState {
        condition.lock()
        defer { condition.unlock() }
        return current
    }

    private func produce(_ initial: DistributedSampler) {
        var sampler = initial
        while true {
            condition.lock()
            while queue.count >= prefetch && !stopped { condition.wait() }
            let stop = stopped
            condition.unlock()
            if stop { return }
            let item: Result<Batch, any Error>
            var replaced = 0
            do {
                let (epoch, _, local) = try sampler.next(rank: rank, worldSize: worldSize)
                let assembled = try assembler.assemble(indices: local, epoch: epoch)
                replaced = assembled.replaced
                item = .success(assembled.batch)
            } catch {
                item = .failure(error)
            }
            condition.lock()
            replacedSamples += replaced
            queue.append((item, sampler.state))
            condition.broadcast()
            condition.unlock()
            if case .failure = item { return }
        }
    }

    /// The next batch (waits for the background thread if it is behind).
    public func next() throws -> Batch {
        condition.lock()
        while queue.isEmpty { condition.wait() }
        let (item, state) = queue.removeFirst()
        current = state
        condition.broadcast()
        condition.unlock()
        return try item.get()
    }
}

/// Evaluation order: global batches of `batch` consecutive samples of `indices` — the same batches on any
/// world size — each split over the ranks in contiguous slices (`EvaluationShard`: the first
/// `count % size` ranks one sample more). Iterates this rank's slices, one per global batch (possibly
/// empty, so every rank takes part in every batch of a method whose scores couple a batch), without
/// augmentation; every sample exactly once.
public struct EvaluationBatches: Sequence {
    public let assembler: BatchAssembler
    public let indices: [Int]
    public let batch: Int
    public let rank: Int
    public let size: Int

    public init(assembler: BatchAssembler, indices: [Int], batch: Int, rank: Int = 0, size: Int = 1) {
        self.assembler = assembler
        self.indices = indices
        self.batch = Swift.max(1, batch)
        self.rank = rank
        self.size = Swift.max(1, size)
    }

    /// Number of global batches.
    public var count: Int { (indices.count + batch - 1) / batch }

    public func makeIterator() -> AnyIterator<Result<Batch, any Error>> {
        var start = 0
        return AnyIterator {
            guard start < indices.count else { return nil }
            let global = Array(indices[start..<Swift.min(start + batch, indices.count)])
            start += batch
            let mine = EvaluationShard.range(count: global.count, rank: rank, size: size)
            return Result { try assembler.assemble(indices: Array(global[mine]), epoch: 0).batch }
        }
    }

    /// All batches, or the first error.
    public func collect() throws -> [Batch] { try map { try $0.get() } }
}
