// Shape ops: reshape (a view), permute/transpose, slice, concat, stack, expand. Views share storage;
// everything else copies, since all tensors are contiguous.

extension Tensor {
    /// The same elements with a new shape (a view). One extent may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            guard known > 0, count % known == 0 else {
                throw TensorError.shapeMismatch(op: "reshape", shapes: [shape, newShape], detail: "cannot infer -1 for \(count) elements")
            }
            s[i] = count / known
        }
        guard s.reduce(1, *) == count, s.allSatisfy({ $0 >= 0 }) else {
            throw TensorError.shapeMismatch(op: "reshape", shapes: [shape, newShape], detail: "\(count) elements cannot take the new shape")
        }
        let out = Tensor(shape: s, storage: storage, offset: offset)
        return Autograd.record(out, "reshape", [self]) { [self] g in
            accumulateGrad(g)
        }
    }

    /// Inserts an axis of extent 1 at `axis`.
    public func unsqueezed(_ axis: Int) throws -> Tensor {
        let a = axis < 0 ? axis + rank + 1 : axis
        guard a >= 0 && a <= rank else { throw TensorError.outOfRange(op: "unsqueeze", detail: "axis \(axis) for shape \(shape)") }
        var s = shape
        s.insert(1, at: a)
        return try reshaped(s)
    }

    /// Collapses axes `from...to` into one.
    public func flattened(from: Int = 0, to: Int = -1) throws -> Tensor {
        let a = try ShapeUtil.axis(from, rank: rank, op: "flatten"), b = try ShapeUtil.axis(to, rank: rank, op: "flatten")
        guard a <= b else { throw TensorError.invalidArgument(op: "flatten", detail: "from \(from) after to \(to)") }
        let s = Array(shape[..<a]) + [shape[a...b].reduce(1, *)] + Array(shape[(b + 1)...])
        return try reshaped(s)
    }

    /// Reorders axes: output axis i is input axis `order[i]`.
    public func permuted(_ order: [Int]) throws -> Tensor {
        guard order.count == rank, Set(order) == Set(0..<rank) else {
            throw TensorError.invalidArgument(op: "permute", detail: "order \(order) is not a permutation of the \(rank) axes of \(shape)")
        }
        if order == Array(0..<rank) { return try reshaped(shape) }
        let outShape = order.map { shape[$0] }
        let out = Tensor(uninitialized: outShape)
        Kernels.permute(pointer, shape, order, out.pointer)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return Autograd.record(out, "permute", [self]) { [self] g in
            let (p, beta) = gradTarget()
            if beta == 0 {
                Kernels.permute(g.pointer, outShape, inverse, p)
            } else {
                let t = Tensor(uninitialized: shape)
                Kernels.permute(g.pointer, outShape, inverse, t.pointer)
                Kernels.add(p, t.pointer, p, count)
            }
        }
    }

    /// Swaps two axes (the last two by default).
    public func transposed(_ a: Int = -2, _ b: Int = -1) throws -> Tensor {
        let i = try ShapeUtil.axis(a, rank: rank, op: "transpose"), j = try ShapeUtil.axis(b, rank: rank, op: "transpose")
        var order = Array(0..<rank)
        order.swapAt(i, j)
        return try permuted(order)
    }

    /// Elements `start..<end` along `axis`. A view when it is the leading run of memory.
    public func slice(axis: Int, _ start: Int, _ end: Int) throws -> Tensor {
        let a = try ShapeUtil.axis(axis, rank: rank, op: "slice")
        guard 0 <= start && start <= end && end <= shape[a] else {
            throw TensorError.outOfRange(op: "slice", detail: "range \(start)..<\(end) on axis \(axis) of extent \(shape[a]) (shape \(shape))")
        }
        let (outer, n, inner) = ShapeUtil.split(shape, axis: a)
        var outShape = shape
        outShape[a] = end - start
        let len = end - start
        let out: Tensor
        if outer == 1 {
            out = Tensor(shape: outShape, storage: storage, offset: offset + start * inner)
        } else {
            out = Tensor(uninitialized: outShape)
            for o in 0..<outer {
                (out.pointer + o * len * inner).update(from: pointer + (o * n + start) * inner, count: len * inner)
            }
        }
        return Autograd.record(out, "slice", [self]) { [self] g in
            let d = gradZeroed()
            for o in 0..<outer {
                let dst = d + (o * n + start) * inner
                Kernels.add(dst, g.pointer + o * len * inner, dst, len * inner)
            }
        }
    }

    /// Joins tensors along `axis`; all other extents must agree.
    public static func concat(_ tensors: [Tensor], axis: Int) throws -> Tensor {
        guard let first = tensors.first else { throw TensorError.invalidArgument(op: "concat", detail: "no tensors") }
        let a = try ShapeUtil.axis(axis, rank: first.rank, op: "concat")
        for t in tensors {
            var s1 = t.shape, s0 = first.shape
            guard s1.count == s0.count else {
                throw TensorError.shapeMismatch(op: "concat", shapes: [first.shape, t.shape], detail: "different number of axes")
            }
            s1[a] = 0
            s0[a] = 0
            guard s1 == s0 else {
                throw TensorError.shapeMismatch(op: "concat", shapes: [first.shape, t.shape], detail: "extents differ outside axis \(axis)")
            }
        }
        var outShape = first.shape
        outShape[a] = tensors.reduce(0) { $0 + $1.shape[a] }
        let out = Tensor(uninitialized: outShape)
        let (outer, total, inner) = ShapeUtil.split(outShape, axis: a)
        var start = 0
        var starts: [Int] = []
        for t in tensors {
            let len = t.shape[a]
            starts.append(start)
            for o in 0..<outer {
                (out.pointer + (o * total + start) * inner).update(from: t.pointer + o * len * inner, count: len * inner)
            }
            start += len
        }
        return Autograd.record(out, "concat", tensors) { g in
            for (t, s) in zip(tensors, starts) where t.requiresGrad {
                let len = t.shape[a]
                let (p, beta) = t.gradTarget()
                for o in 0..<outer {
                    Kernels.accumulate(g.pointer + (o * total + s) * inner, into: p + o * len * inner, len * inner, beta: beta)
                }
            }
        }
    }

    /// Stacks equally shaped tensors along a new axis.
    public static func stack(_ tensors: [Tensor], axis: Int = 0) throws -> Tensor {
        guard let first = tensors.first else { throw TensorError.invalidArgument(op: "stack", detail: "no tensors") }
        for t in tensors where t.shape != first.shape {
            throw TensorError.shapeMismatch(op: "stack", shapes: [first.shape, t.shape], detail: "stacked tensors must have equal shapes")
        }
        return try concat(tensors.map { try $0.unsqueezed(axis) }, axis: axis)
    }

    /// Broadcasts to `target` (materialised); the gradient sums back.
    public func expanded(to target: [Int]) throws -> Tensor {
        let s = try ShapeUtil.broadcast(shape, target, op: "expand")
        guard s == target else {
            throw TensorError.shapeMismatch(op: "expand", shapes: [shape, target], detail: "cannot expand")
        }
        let out = Tensor(uninitialized: target)
        Kernels.broadcastZip(pointer, shape, pointer, shape, out.pointer, target) { a, _ in a }
        return Autograd.record(out, "expand", [self]) { [self] g in
            let (p, beta) = gradTarget()
            Kernels.sumToShape(g.pointer, target, p, shape, beta: beta)
        }
    }
}

extension Kernels {
    /// out = x permuted by `order` (output axis i = input axis order[i]); x has `shape`.
    static func permute(_ x: UnsafePointer<Float>, _ shape: [Int], _ order: [Int], _ out: UnsafeMutablePointer<Float>) {
        let rank = shape.count
        let inStrides = ShapeUtil.strides(shape)
        let outShape = order.map { shape[$0] }
        let srcStrides = order.map { inStrides[$0] }  // input stride for each output axis
        let total = outShape.reduce(1, *)
        if total == 0 { return }
        let inner = outShape[rank - 1], innerStride = srcStrides[rank - 1]
        let rows = total / Swift.max(inner, 1)
        Parallel.forRanges(rows, grain: Kernels.grain(valuesPerItem: inner)) { r in
            for row in r {
                var rem = row, src = 0
                var d = rank - 2
                while d >= 0 {
                    src += (rem % outShape[d]) * srcStrides[d]
                    rem /= outShape[d]
                    d -= 1
                }
                let dst = out + row * inner
                if innerStride == 1 {
                    dst.update(from: x + src, count: inner)
                } else {
                    for i in 0..<inner { dst[i] = x[src + i * innerStride] }
                }
            }
        }
    }
}
