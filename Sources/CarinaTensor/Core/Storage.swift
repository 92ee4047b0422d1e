// Float32 storage for tensors and the pool that recycles it, so a training step reuses the buffers of
// the previous one instead of asking malloc (and the kernel, for large blocks) for fresh pages each op.
// Not for: shapes or views (Tensor.swift).
import Synchronization

/// A 64-byte aligned block of Float32, returned to `BufferPool.shared` when the last tensor using it dies.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let capacity: Int

    /// Uninitialised storage for `capacity` floats (recycled memory holds old values).
    public init(capacity: Int) {
        self.capacity = capacity
        self.pointer = BufferPool.shared.take(capacity)
    }

    /// Zero-filled storage.
    public convenience init(zeros capacity: Int) {
        self.init(capacity: capacity)
        pointer.update(repeating: 0, count: capacity)
    }

    deinit {
        BufferPool.shared.give(pointer, capacity: capacity)
    }
}

/// A pool of freed buffers keyed by exact element count. Training repeats the same shapes every step,
/// so exact-size reuse hits almost always; the pool keeps at most `limitBytes` cached and frees the rest.
public final class BufferPool: Sendable {
    public static let shared = BufferPool(limitBytes: 8 << 30)

    private struct State {
        var free: [Int: [UInt]] = [:]  // addresses of free buffers by element count
        var cachedBytes = 0
        var hits = 0
        var misses = 0
    }

    private let state = Mutex(State())
    private let limitBytes: Int

    public init(limitBytes: Int) {
        self.limitBytes = limitBytes
    }

    /// Buffers smaller than this skip the pool: malloc's own bins serve them well.
    private static let minimumPooled = 1024

    func take(_ count: Int) -> UnsafeMutablePointer<Float> {
        let n = max(count, 1)
        if n >= Self.minimumPooled {
            let recycled: UInt? = state.withLock { s in
                if var list = s.free[n], let p = list.popLast() {
                    s.free[n] = list
                    s.cachedBytes -= n * 4
                    s.hits += 1
                    return p
                }
                s.misses += 1
                return nil
            }
            if let recycled { return UnsafeMutablePointer<Float>(bitPattern: recycled)! }
        }
        let raw = UnsafeMutableRawPointer.allocate(byteCount: n * MemoryLayout<Float>.stride, alignment: 64)
        return raw.bindMemory(to: Float.self, capacity: n)
    }

    func give(_ pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        let n = max(capacity, 1)
        if n >= Self.minimumPooled {
            let address = UInt(bitPattern: pointer)
            let kept = state.withLock { s -> Bool in
                guard s.cachedBytes + n * 4 <= limitBytes else { return false }
                s.free[n, default: []].append(address)
                s.cachedBytes += n * 4
                return true
            }
            if kept { return }
        }
        UnsafeMutableRawPointer(pointer).deallocate()
    }

    /// Frees every cached buffer (e.g. between benchmark phases).
    public func drain() {
        let lists = state.withLock { s -> [[UInt]] in
            let l = Array(s.free.values)
            s.free = [:]
            s.cachedBytes = 0
            return l
        }
        for list in lists { for p in list { UnsafeMutableRawPointer(bitPattern: p)!.deallocate() } }
    }

    /// (hits, misses, cached bytes): how well buffers are being reused.
    public var statistics: (hits: Int, misses: Int, cachedBytes: Int) {
        state.withLock { ($0.hits, $0.misses, $0.cachedBytes) }
    }
}
