// Data-parallel training in the manner of PyTorch DDP: parameters start identical on every rank (broadcast
// from rank 0, then verified by checksum); gradients live in flat buckets (~25 MB, reverse registration
// order) that are all-reduced as soon as every gradient in them is final during backward, overlapping
// communication with the rest of backward; `synchronizeGradients()` waits for all before the optimizer
// step. A parameter that got no gradient on any rank in a step is reported (`receivedGradient`) so the
// optimizer leaves it untouched on every rank alike. Not for: the training loop or the loss; losses are
// normalised by the global batch, so gradients are summed over ranks (`.average` divides by the world
// size for losses that are local means).
import CarinaNN
import Foundation

public final class DataParallel: @unchecked Sendable {
    public enum GradientReduction: Sendable {
        /// Gradients are summed over ranks: the loss on each rank is already divided by the global batch.
        case sum
        /// Gradients are averaged over ranks: each rank's loss is a mean over its local batch.
        case average
    }

    public enum InitialSync: Sendable {
        /// Copy rank 0's parameters and buffers to every rank, then verify.
        case broadcast
        /// Only verify that every rank already holds the same values (after each loaded a checkpoint).
        case verify
    }

    /// A flat gradient buffer shared by consecutive parameters.
    final class Bucket {
        let storage: TensorStorage
        let parameters: [Int]  // indices into `parameters`
        let count: Int
        var pending = 0
        var operation: PendingCollective?

        init(parameters: [Int], count: Int) {
            self.parameters = parameters
            self.count = count
            storage = TensorStorage(zeros: count)
        }
    }

    public let communicator: Communicator
    /// Trainable parameters in registration order.
    public let parameters: [NamedParameter]
    public let reduction: GradientReduction
    let buckets: [Bucket]
    /// For each parameter: its bucket and offset in it.
    private let location: [(bucket: Int, offset: Int)]
    private var syncEnabled = true
    private var nextToLaunch = 0
    /// Whether each parameter got a gradient in the current backward pass on this rank.
    private var arrived: [Bool]
    /// After `synchronizeGradients`: whether each parameter got a gradient on some rank in this step
    /// (the same on every rank). Parameters with false get zeros and must not be updated.
    public private(set) var receivedGradient: [Bool]

    /// Whether a bucket's all-reduce starts during backward, as soon as its gradients are final (true), or
    /// every bucket's only in `synchronizeGradients`, after backward (false: one reduction after backward,
    /// what benchmarks compare overlap against). The sums are the same either way.
    public let overlapsBackward: Bool

    /// Sets up buckets of at most `bucketBytes` (a parameter larger than that gets a bucket of its own)
    /// and brings the replicas into agreement as `initialSync` says.
    public init(model: Module, communicator: Communicator, bucketBytes: Int = 25 << 20,
                reduction: GradientReduction = .sum, initialSync: InitialSync = .broadcast, overlapsBackward: Bool = true) throws {
        self.communicator = communicator
        self.reduction = reduction
        self.overlapsBackward = overlapsBackward
        parameters = model.trainableParameters
        // Buckets in reverse registration order: the last layers' gradients are final first.
        let capacity = Swift.max(1, bucketBytes / MemoryLayout<Float>.stride)
        var groups: [[Int]] = []
        var current: [Int] = []
        var filled = 0
        for i in parameters.indices.reversed() {
            let n = parameters[i].tensor.count
            if !current.isEmpty && filled + n > capacity {
                groups.append(current)
                current = []
                filled = 0
            }
            current.append(i)
            filled += n
        }
        if !current.isEmpty { groups.append(current) }
        var location = [(bucket: Int, offset: Int)](repeating: (0, 0), count: parameters.count)
        var buckets: [Bucket] = []
        for (b, group) in groups.enumerated() {
            var offset = 0
            for i in group {
                location[i] = (b, offset)
                offset += parameters[i].tensor.count
            }
            buckets.append(Bucket(parameters: group, count: offset))
        }
        self.buckets = buckets
        self.location = location
        arrived = [Bool](repeating: false, count: parameters.count)
        receivedGradient = arrived
        try verifyStructure(model)
        if initialSync == .broadcast { try broadcastState(model) }
        try verifyReplicas(model)
        attachGradients()
        resetForNextStep()
    }

    /// Points every parameter's gradient at its slice of a bucket (zeroed) and installs the hooks that
    /// launch a bucket's all-reduce once all its gradients are final.
    private func attachGradients() {
        for (i, p) in parameters.enumerated() {
            let (b, offset) = location[i]
            p.tensor.grad = Tensor(shape: p.tensor.shape, storage: buckets[b].storage, offset: offset)
            p.tensor.onGradReady = { [unowned self] _ in self.gradientReady(i) }
        }
    }

    /// Removes this wrapper's hooks and gradient views from its parameters (before another wrapper takes
    /// over, e.g. at a training stage that trains a different set).
    public func detach() {
        for p in parameters {
            p.tensor.onGradReady = nil
            p.tensor.grad = nil
        }
    }

    private func resetForNextStep() {
        for bucket in buckets {
            bucket.pending = bucket.parameters.count
            bucket.operation = nil
        }
        nextToLaunch = 0
        for i in arrived.indices { arrived[i] = false }
    }

    /// Called by autograd when parameter `i`'s gradient is final for this backward pass.
    private func gradientReady(_ i: Int) {
        OpProfile.section("communication") { gradientBecameReady(i) }
    }

    private func gradientBecameReady(_ i: Int) {
        arrived[i] = true
        guard syncEnabled, communicator.size > 1 else { return }
        let bucket = buckets[location[i].bucket]
        bucket.pending -= 1
        guard overlapsBackward else { return }
        // Launch in bucket order so every rank starts the same collectives in the same order.
        while nextToLaunch < buckets.count && buckets[nextToLaunch].pending == 0 {
            launch(buckets[nextToLaunch])
            nextToLaunch += 1
        }
        // MPI progresses non-blocking collectives only inside MPI calls: poke the ones in flight.
        if nextToLaunch > 0 { try? progress() }
    }

    private func launch(_ bucket: Bucket) {
        do {
            bucket.operation = try communicator.startAllReduceSum(
                UnsafeMutableBufferPointer(start: bucket.storage.pointer, count: bucket.count))
        } catch {
            // Reported by synchronizeGradients (a hook cannot throw).
            launchError = launchError ?? error
        }
    }

    private var launchError: (any Error)?

    /// Waits until every bucket is reduced (launching those whose parameters got no gradient in this
    /// pass: their zeros still take part, so no rank waits for a collective another skipped), then
    /// applies the reduction. Call after backward, before the optimizer step. Inside `noSync` it does
    /// nothing.
    public func synchronizeGradients() throws {
        try OpProfile.section("communication") { try synchronize() }
    }

    private func synchronize() throws {
        guard syncEnabled else { return }
        defer { resetForNextStep() }
        var flags = arrived.map { Int64($0 ? 1 : 0) }
        if communicator.size > 1, !flags.isEmpty { try flags.withUnsafeMutableBufferPointer { try communicator.allReduceMax($0) } }
        receivedGradient = flags.map { $0 != 0 }
        for (i, p) in parameters.enumerated() {
            let (b, offset) = location[i]
            if let g = p.tensor.grad, g.storage !== buckets[b].storage {
                // Someone replaced the gradient tensor: copy it into the bucket and re-attach.
                let view = Tensor(shape: p.tensor.shape, storage: buckets[b].storage, offset: offset)
                view.assign(g)
                p.tensor.grad = view
            } else if p.tensor.grad == nil {
                let view = Tensor(shape: p.tensor.shape, storage: buckets[b].storage, offset: offset)
                view.fill(0)
                p.tensor.grad = view
            }
        }
        guard communicator.size > 1 else { return }
        while nextToLaunch < buckets.count {
            launch(buckets[nextToLaunch])
            nextToLaunch += 1
        }
        if let launchError {
            self.launchError = nil
            throw launchError
        }
        let start = DispatchTime.now().uptimeNanoseconds
        for bucket in buckets { try bucket.operation?.wait() }
        communicationWaitSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if reduction == .average {
            let scale = 1 / Float(communicator.size)
            for bucket in buckets { Kernels.map(bucket.storage.pointer, bucket.storage.pointer, bucket.count) { $0 * scale } }
        }
    }

    /// Drives in-flight reductions forward without blocking (call between compute phases).
    public func progress() throws {
        for bucket in buckets[..<nextToLaunch] { _ = try bucket.operation?.test() }
    }

    /// Runs `body` (forward and backward of a micro-batch) without communicating: gradients accumulate
    /// locally, and the next backward outside `noSync` reduces the accumulated sum (gradient accumulation).
    public func noSync<R>(_ body: () throws -> R) rethrows -> R {
        let saved = syncEnabled
        syncEnabled = false
        defer { syncEnabled = saved }
        return try body()
    }

    /// Zeroes every gradient (one pass over each bucket).
    public func zeroGrad() {
        for bucket in buckets { bucket.storage.pointer.update(repeating: 0, count: bucket.count) }
    }

    /// Seconds spent blocked in `synchronizeGradients` waiting for reductions, summed over steps: the
    /// communication that did not hide behind backward.
    public var communicationWaitSeconds = 0.0

    /// Number of gradient buckets (for logs and tests).
    public var bucketCount: Int { buckets.count }

    /// Floats in all gradient buckets together (what one step all-reduces).
    public var gradientCount: Int { buckets.reduce(0) { $0 + $1.count } }

    // MARK: replicas

    /// Every tensor whose values must agree across ranks: parameters, then buffers.
    private static func stateTensors(_ model: Module) -> [(String, Tensor)] {
        model.namedState.map { ($0.name, $0.tensor) }
    }

    /// Checks that every rank has the same tensor names and shapes, naming the first that differs.
    private func verifyStructure(_ model: Module) throws {
        let state = DataParallel.stateTensors(model)
        let signatures = state.map { name, t in Int64(bitPattern: Checksum.fnv1a(name, t.shape)) }
        try compareWithRankZero(signatures, names: state.map(\.0), what: "name or shape")
    }

    /// Checks that every rank holds bit-identical parameter and buffer values, naming the first tensor
    /// that differs and the lowest rank that disagrees with rank 0.
    public func verifyReplicas(_ model: Module) throws {
        let state = DataParallel.stateTensors(model)
        let sums = state.map { Int64(bitPattern: Checksum.fnv1a(values: $0.1)) }
        try compareWithRankZero(sums, names: state.map(\.0), what: "values")
    }

    private func compareWithRankZero(_ local: [Int64], names: [String], what: String) throws {
        guard communicator.size > 1 else { return }
        var count = [Int64(local.count)]
        try communicator.broadcast(&count, root: 0)
        var reference = [Int64](repeating: 0, count: Int(count[0]))
        if communicator.rank == 0 { reference = local }
        try communicator.broadcast(&reference, root: 0)
        // The first index where this rank differs (its count if one list is a prefix of the other),
        // the lowest such index over ranks, and the lowest rank that differs there.
        let shared = Swift.min(local.count, reference.count)
        let mine = (0..<shared).first { local[$0] != reference[$0] } ?? (local.count != reference.count ? shared : Int.max)
        let index = try communicator.allReduceMin(Int64(mine))
        guard index != Int64(Int.max) else { return }
        let culprit = try communicator.allReduceMin(Int64(mine == Int(index) ? communicator.rank : Int.max))
        let name = Int(index) < names.count ? names[Int(index)] : "tensor #\(index) (the ranks hold different numbers of tensors)"
        throw DistError.replicaMismatch("\(name): \(what) on rank \(culprit) differ from rank 0's")
    }

    /// Copies rank 0's parameters and buffers to every rank.
    private func broadcastState(_ model: Module) throws {
        guard communicator.size > 1 else { return }
        for (_, t) in DataParallel.stateTensors(model) {
            try communicator.broadcast(UnsafeMutableBufferPointer(start: t.pointer, count: t.count), root: 0)
        }
    }

    /// Copies rank 0's buffers (BatchNorm running statistics) to every rank, as PyTorch DDP's
    /// `broadcast_buffers` does before each forward pass, so ranks never evaluate or save different ones.
    public static func broadcastBuffers(_ model: Module, communicator: Communicator) throws {
        guard communicator.size > 1 else { return }
        for (_, t) in model.namedBuffers {
            try communicator.broadcast(UnsafeMutableBufferPointer(start: t.pointer, count: t.count), root: 0)
        }
    }
}

/// Checksums of tensor names, shapes and values (bit patterns) for replica checks: FNV-1a 64.
public enum Checksum {
    public static func fnv1a(_ name: String, _ shape: [Int]) -> UInt64 {
        var h = FNV1a64()
        h.update(name)
        for d in shape { h.update(integer: d) }
        return h.value
    }

    public static func fnv1a(values t: Tensor) -> UInt64 {
        var h = FNV1a64()
        h.update(UnsafeRawBufferPointer(start: t.pointer, count: t.count * MemoryLayout<Float>.stride))
        return h.value
    }
}
