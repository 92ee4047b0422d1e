// Indexing ops: index-select, gather, scatter-add, embedding lookup, masked fill. Indices are
// IndexTensor (Int32), checked against the indexed extent with an error naming the op and the index.

extension Tensor {
    /// Rows `indices` along `axis`: out has extent indices.count on that axis.
    public func indexSelect(axis: Int, _ indices: [Int]) throws -> Tensor {
        let a = try ShapeUtil.axis(axis, rank: rank, op: "index_select")
        let (outer, n, inner) = ShapeUtil.split(shape, axis: a)
        for i in indices where i < 0 || i >= n {
            throw TensorError.outOfRange(op: "index_select", detail: "index \(i) out of range for axis \(axis) of extent \(n) (shape \(shape))")
        }
        var outShape = shape
        outShape[a] = indices.count
        let out = Tensor(uninitialized: outShape)
        let k = indices.count
        for o in 0..<outer {
            for (j, i) in indices.enumerated() {
                (out.pointer + (o * k + j) * inner).update(from: pointer + (o * n + i) * inner, count: inner)
            }
        }
        return Autograd.record(out, "index_select", [self]) { [self] g in
            let d = gradZeroed()
            for o in 0..<outer {
                for (j, i) in indices.enumerated() {
                    let dst = d + (o * n + i) * inner
                    Kernels.add(dst, g.pointer + (o * k + j) * inner, dst, inner)
                }
            }
        }
    }

    /// torch.gather: out[i][j][k] = x[i][index[i][j][k]][k] for axis 1 (likewise for other axes).
    /// `index` has the same rank as x; its extents may be smaller than x's except along `axis`.
    public func gather(axis: Int, _ index: IndexTensor) throws -> Tensor {
        let a = try ShapeUtil.axis(axis, rank: rank, op: "gather")
        guard index.shape.count == rank else {
            throw TensorError.shapeMismatch(op: "gather", shapes: [shape, index.shape], detail: "index must have the same number of axes")
        }
        for d in 0..<rank where d != a && index.shape[d] > shape[d] {
            throw TensorError.shapeMismatch(op: "gather", shapes: [shape, index.shape], detail: "index extent exceeds input on axis \(d)")
        }
        let offsets = try gatherOffsets(a, index, op: "gather")
        let out = Tensor(uninitialized: index.shape)
        for (i, off) in offsets.enumerated() { out.pointer[i] = pointer[off] }
        return Autograd.record(out, "gather", [self]) { [self] g in
            let d = gradZeroed()
            for (i, off) in offsets.enumerated() { d[off] += g.pointer[i] }
        }
    }

    /// Flat offsets into self for every element of `index` (gather / scatter positions).
    func gatherOffsets(_ a: Int, _ index: IndexTensor, op: String) throws -> [Int] {
        let strides = ShapeUtil.strides(shape)
        let idxStrides = ShapeUtil.strides(index.shape)
        var offsets = [Int](repeating: 0, count: index.count)
        for flat in 0..<index.count {
            var rem = flat, off = 0
            for d in 0..<index.shape.count {
                let c = rem / idxStrides[d]
                rem %= idxStrides[d]
                if d == a {
                    let v = Int(index.values[flat])
                    guard v >= 0 && v < shape[a] else {
                        throw TensorError.outOfRange(op: op, detail: "index \(v) out of range for axis \(a) of extent \(shape[a]) (shape \(shape))")
                    }
                    off += v * strides[d]
                } else {
                    off += c * strides[d]
                }
            }
            offsets[flat] = off
        }
        return offsets
    }

    /// torch.scatter_add: a copy of self with src[i][j][k] added at self[i][index[i][j][k]][k] (axis 1).
    public func scatterAdd(axis: Int, _ index: IndexTensor, _ src: Tensor) throws -> Tensor {
        let a = try ShapeUtil.axis(axis, rank: rank, op: "scatter_add")
        guard index.shape == src.shape else {
            throw TensorError.shapeMismatch(op: "scatter_add", shapes: [index.shape, src.shape], detail: "index and src must have the same shape")
        }
        guard index.shape.count == rank else {
            throw TensorError.shapeMismatch(op: "scatter_add", shapes: [shape, index.shape], detail: "index must have the same number of axes")
        }
        let offsets = try gatherOffsets(a, index, op: "scatter_add")
        let out = copy()
        for (i, off) in offsets.enumerated() { out.pointer[off] += src.pointer[i] }
        return Autograd.record(out, "scatter_add", [self, src]) { [self] g in
            if requiresGrad { accumulateGrad(g) }
            if src.requiresGrad {
                let (p, beta) = src.gradTarget()
                for (i, off) in offsets.enumerated() { p[i] = (beta == 0 ? 0 : p[i]) + g.pointer[off] }
            }
        }
    }

    /// Rows of this (V, C) table for each id: (ids.shape..., C). The gradient adds into the used rows.
    public func embedding(_ ids: IndexTensor) throws -> Tensor {
        guard rank == 2 else { throw TensorError.wrongRank(op: "embedding", shape: shape, expected: "a (vocabulary, channels) table") }
        let (v, c) = (shape[0], shape[1])
        for id in ids.values where id < 0 || Int(id) >= v {
            throw TensorError.outOfRange(op: "embedding", detail: "id \(id) out of range for a table of \(v) rows")
        }
        let out = Tensor(uninitialized: ids.shape + [c])
        let table = pointer
        ids.values.withUnsafeBufferPointer { idp in
            Parallel.forRanges(ids.count, grain: Kernels.grain(valuesPerItem: c)) { r in
                for i in r { (out.pointer + i * c).update(from: table + Int(idp[i]) * c, count: c) }
            }
        }
        return Autograd.record(out, "embedding", [self]) { [self] g in
            let d = gradZeroed()
            for (i, id) in ids.values.enumerated() {
                let row = d + Int(id) * c
                Kernels.add(row, g.pointer + i * c, row, c)
            }
        }
    }

    /// Where `mask` (broadcastable, non-zero = fill) is set, the result is `value`; elsewhere x.
    public func maskedFill(_ mask: Tensor, _ value: Float) throws -> Tensor {
        let s = try ShapeUtil.broadcast(shape, mask.shape, op: "masked_fill")
        guard s == shape else {
            throw TensorError.shapeMismatch(op: "masked_fill", shapes: [shape, mask.shape], detail: "mask must broadcast to the input")
        }
        let out = Tensor(uninitialized: shape)
        Kernels.broadcastZip(pointer, shape, mask.pointer, mask.shape, out.pointer, shape) { x, m in
            x.replacing(with: value, where: m .!= 0)
        }
        return Autograd.record(out, "masked_fill", [self]) { [self] g in
            let (p, beta) = gradTarget()
            let kept = Tensor(uninitialized: shape)
            Kernels.broadcastZip(g.pointer, shape, mask.pointer, mask.shape, kept.pointer, shape) { g, m in
                g.replacing(with: 0, where: m .!= 0)
            }
            Kernels.accumulate(kept.pointer, into: p, count, beta: beta)
        }
    }

    /// One-hot rows (n, classes) for integer labels; not differentiable.
    public static func oneHot(_ labels: [Int], classes: Int) -> Tensor {
        let t = Tensor.zeros([labels.count, classes])
        for (i, l) in labels.enumerated() where l >= 0 && l < classes { t.pointer[i * classes + l] = 1 }
        return t
    }
}
