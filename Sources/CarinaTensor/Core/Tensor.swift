// The Tensor type: a shape over contiguous Float32 storage (row-major), plus what reverse-mode autograd
// needs (requiresGrad, grad, the node that produced it). Ops live in Ops/, the backward pass in Autograd.swift.
// Not for: kernels (Kernels/) or layers (CarinaNN).

/// A dense, contiguous, row-major Float32 array with optional gradient tracking.
///
/// Tensors are reference types like PyTorch's: several tensors may share one storage (views made by
/// `reshaped` or by slicing the leading axis). Ops never modify their inputs.
public final class Tensor: @unchecked Sendable, CustomStringConvertible {
    /// Extent of each axis, outermost first. `[]` is a scalar.
    public let shape: [Int]
    /// Number of elements (product of `shape`).
    public let count: Int
    /// The storage and the element offset where this tensor starts in it.
    public internal(set) var storage: TensorStorage
    public internal(set) var offset: Int

    /// Whether gradients flow to this tensor. Parameters set it; ops propagate it.
    public var requiresGrad: Bool
    /// The accumulated gradient, same shape as the tensor (nil until a backward pass reaches it).
    public var grad: Tensor?
    /// The op that produced this tensor, if it was produced under gradient tracking.
    var gradFn: GradFn?
    /// Keep `grad` on this non-leaf tensor after backward (for inspection and tests).
    public var retainsGrad = false
    /// Called once per backward pass, when this leaf's gradient for the pass is complete (DDP buckets).
    public var onGradReady: (@Sendable (Tensor) -> Void)?
    /// Optional name, used in error messages (parameters get their dotted path).
    public var name: String?

    /// A tensor over existing storage; `storage` must hold `offset + count` floats.
    public init(shape: [Int], storage: TensorStorage, offset: Int = 0, requiresGrad: Bool = false) {
        let n = shape.reduce(1, *)
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
        precondition(offset + n <= storage.capacity, "view \(shape)+\(offset) exceeds storage of \(storage.capacity)")
        self.shape = shape
        self.count = n
        self.storage = storage
        self.offset = offset
        self.requiresGrad = requiresGrad
    }

    /// Uninitialised tensor (contents are whatever the recycled buffer held). Kernels that write every
    /// element use this; everything else should use `zeros`.
    public convenience init(uninitialized shape: [Int]) {
        self.init(shape: shape, storage: TensorStorage(capacity: shape.reduce(1, *)))
    }

    /// A tensor with the given values (row-major).
    public convenience init(shape: [Int], values: [Float], requiresGrad: Bool = false) {
        self.init(uninitialized: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { src in
            pointer.update(from: src.baseAddress!, count: count)
        }
        self.requiresGrad = requiresGrad
    }

    /// A scalar tensor.
    public convenience init(_ value: Float, requiresGrad: Bool = false) {
        self.init(shape: [], values: [value], requiresGrad: requiresGrad)
    }

    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, storage: TensorStorage(zeros: n), requiresGrad: requiresGrad)
    }

    public static func ones(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        full(shape, 1, requiresGrad: requiresGrad)
    }

    public static func full(_ shape: [Int], _ value: Float, requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(uninitialized: shape)
        t.pointer.update(repeating: value, count: t.count)
        t.requiresGrad = requiresGrad
        return t
    }

    /// 0, 1, ..., n-1 as Float.
    public static func arange(_ n: Int) -> Tensor {
        let t = Tensor(uninitialized: [n])
        for i in 0..<n { t.pointer[i] = Float(i) }
        return t
    }

    /// First element of this tensor's data.
    @inlinable public var pointer: UnsafeMutablePointer<Float> { storage.pointer + offset }

    /// Number of axes.
    public var rank: Int { shape.count }

    /// A copy of the elements as a Swift array (row-major).
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// The value of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item on a tensor of shape \(shape)")
        return pointer[0]
    }

    /// Element at a multi-index (slow; for tests and debugging).
    public subscript(_ index: Int...) -> Float {
        get { pointer[flatIndex(index)] }
        set { pointer[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index \(index) for shape \(shape)")
        var flat = 0
        for (i, n) in zip(index, shape) {
            precondition(i >= 0 && i < n, "index \(index) out of range for shape \(shape)")
            flat = flat * n + i
        }
        return flat
    }

    /// True if this tensor was created by an op under gradient tracking (not a leaf).
    public var isLeaf: Bool { gradFn == nil }

    /// A new tensor sharing storage, cut from the graph (no gradient flows through it).
    public func detached() -> Tensor {
        Tensor(shape: shape, storage: storage, offset: offset)
    }

    /// A deep copy with its own storage, not tracked.
    public func copy() -> Tensor {
        let t = Tensor(uninitialized: shape)
        t.pointer.update(from: pointer, count: count)
        return t
    }

    /// Overwrites this tensor's elements with `other`'s (same count). Not tracked by autograd.
    public func assign(_ other: Tensor) {
        precondition(other.count == count, "assign: \(other.shape) into \(shape)")
        pointer.update(from: other.pointer, count: count)
    }

    /// Sets every element to `value`. Not tracked by autograd.
    public func fill(_ value: Float) {
        pointer.update(repeating: value, count: count)
    }

    /// Points this tensor at another storage (used to place parameters in one flat block).
    public func rebind(to storage: TensorStorage, offset: Int) {
        precondition(offset + count <= storage.capacity)
        self.storage = storage
        self.offset = offset
    }

    /// Zeroes the gradient in place if one exists (keeps flat-block views alive), else leaves it nil.
    public func zeroGrad() {
        grad?.fill(0)
    }

    public var description: String {
        let shown = count <= 8 ? scalars.map { String($0) }.joined(separator: ", ")
            : scalars.prefix(6).map { String($0) }.joined(separator: ", ") + ", ..."
        return "Tensor(\(shape)\(name.map { " \($0)" } ?? ""): [\(shown)])"
    }
}

/// Integer indices (token ids, labels, gather positions) with a shape. Not differentiable.
public struct IndexTensor: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Int32]

    public init(shape: [Int], values: [Int32]) {
        precondition(shape.reduce(1, *) == values.count, "\(values.count) indices for shape \(shape)")
        self.shape = shape
        self.values = values
    }

    public init(_ values: [Int]) {
        self.init(shape: [values.count], values: values.map { Int32($0) })
    }

    public var count: Int { values.count }
}
