// Reductions over axes: sum, mean, max, logsumexp. Each reduces one axis at a time over the
// (outer, n, inner) view of the tensor; gradients broadcast back over the reduced axis.

extension Kernels {
    /// out (outer, inner) = sum over the middle axis of x (outer, n, inner).
    static func sumAxis(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, outer: Int, n: Int, inner: Int) {
        if inner == 1 {
            Parallel.forRanges(outer, grain: Kernels.grain(valuesPerItem: n)) { r in
                for o in r { out[o] = sumSerial(x + o * n, n) }
            }
            return
        }
        Parallel.forRanges(outer, grain: Kernels.grain(valuesPerItem: n * inner)) { r in
            for o in r {
                let dst = out + o * inner
                let src = x + o * n * inner
                dst.update(from: src, count: inner)
                for j in 1..<Swift.max(n, 1) {
                    let row = src + j * inner
                    var i = 0
                    while i + 8 <= inner { store8(load8(dst + i) + load8(row + i), dst + i); i += 8 }
                    while i < inner { dst[i] += row[i]; i += 1 }
                }
                if n == 0 { dst.update(repeating: 0, count: inner) }
            }
        }
    }

    /// dst (outer, n, inner) = beta * dst + src (outer, inner) broadcast over the middle axis.
    static func broadcastAxis(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, outer: Int, n: Int, inner: Int, scale: Float, beta: Float) {
        Parallel.forRanges(outer, grain: Kernels.grain(valuesPerItem: n * inner)) { r in
            for o in r {
                let s = src + o * inner
                for j in 0..<n {
                    let d = dst + (o * n + j) * inner
                    if beta == 0 {
                        for i in 0..<inner { d[i] = s[i] * scale }
                    } else {
                        for i in 0..<inner { d[i] += s[i] * scale }
                    }
                }
            }
        }
    }
}

extension Tensor {
    /// Sum over `axes` (all axes when nil). `keepDims` keeps reduced axes with extent 1.
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor {
        try reduce("sum", axes: axes, keepDims: keepDims, mean: false)
    }

    /// Sum over one axis.
    public func sum(axis: Int, keepDims: Bool = false) throws -> Tensor {
        try reduce("sum", axes: [axis], keepDims: keepDims, mean: false)
    }

    /// Mean over `axes` (all axes when nil).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor {
        try reduce("mean", axes: axes, keepDims: keepDims, mean: true)
    }

    public func mean(axis: Int, keepDims: Bool = false) throws -> Tensor {
        try reduce("mean", axes: [axis], keepDims: keepDims, mean: true)
    }

    private func reduce(_ op: String, axes: [Int]?, keepDims: Bool, mean: Bool) throws -> Tensor {
        let normalized = try Set((axes ?? Array(0..<rank)).map { try ShapeUtil.axis($0, rank: rank, op: op) }).sorted(by: >)
        var keptShape = shape
        for a in normalized { keptShape[a] = 1 }
        let outShape = keepDims ? keptShape : shape.enumerated().filter { !normalized.contains($0.offset) }.map(\.element)
        let reducedCount = normalized.reduce(1) { $0 * shape[$1] }
        let scale: Float = mean ? 1 / Float(Swift.max(reducedCount, 1)) : 1

        // Reduce one axis at a time, innermost first.
        var current = normalized.isEmpty ? self.copy() : self
        var currentShape = shape
        for a in normalized {
            let (outer, n, inner) = ShapeUtil.split(currentShape, axis: a)
            currentShape[a] = 1
            let next = Tensor(uninitialized: currentShape)
            Kernels.sumAxis(current.pointer, next.pointer, outer: outer, n: n, inner: inner)
            current = next
        }
        if mean { Kernels.scale(current.pointer, scale, current.pointer, current.count) }
        let out = Tensor(shape: outShape, storage: current.storage, offset: current.offset)
        let inShape = shape
        return Autograd.record(out, op, [self]) { [self] g in
            // Broadcast g (keptShape) back to the input shape.
            let (p, beta) = gradTarget()
            if beta == 0 {
                Kernels.broadcastZip(g.pointer, keptShape, g.pointer, keptShape, p, inShape) { a, _ in a * scale }
            } else {
                let full = Tensor(uninitialized: inShape)
                Kernels.broadcastZip(g.pointer, keptShape, g.pointer, keptShape, full.pointer, inShape) { a, _ in a * scale }
                Kernels.add(p, full.pointer, p, count)
            }
        }
    }

    /// Maximum over one axis; the gradient flows to the first position holding the maximum.
    public func max(axis: Int, keepDims: Bool = false) throws -> Tensor {
        let a = try ShapeUtil.axis(axis, rank: rank, op: "max")
        let (outer, n, inner) = ShapeUtil.split(shape, axis: a)
        guard n > 0 else { throw TensorError.invalidArgument(op: "max", detail: "empty axis \(axis) in shape \(shape)") }
        var keptShape = shape
        keptShape[a] = 1
        let out = Tensor(uninitialized: keepDims ? keptShape : shape.enumerated().filter { $0.offset != a }.map(\.element))
        var argmax = [Int32](repeating: 0, count: outer * inner)
        let x = pointer, o = out.pointer
        argmax.withUnsafeMutableBufferPointer { am in
            for i in 0..<outer {
                for k in 0..<inner {
                    var best = x[i * n * inner + k], bestJ = 0
                    for j in 1..<n {
                        let v = x[(i * n + j) * inner + k]
                        if v > best || (best.isNaN && !v.isNaN) { best = v; bestJ = j }
                    }
                    o[i * inner + k] = best
                    am[i * inner + k] = Int32(bestJ)
                }
            }
        }
        return Autograd.record(out, "max", [self]) { [self] g in
            let d = gradZeroed()
            for i in 0..<outer {
                for k in 0..<inner {
                    d[(i * n + Int(argmax[i * inner + k])) * inner + k] += g.pointer[i * inner + k]
                }
            }
        }
    }

    /// log(sum(exp(x))) over one axis, computed stably; its gradient is softmax(x) * g.
    public func logSumExp(axis: Int, keepDims: Bool = false) throws -> Tensor {
        let a = try ShapeUtil.axis(axis, rank: rank, op: "logsumexp")
        let (outer, n, inner) = ShapeUtil.split(shape, axis: a)
        var keptShape = shape
        keptShape[a] = 1
        let out = Tensor(uninitialized: keepDims ? keptShape : shape.enumerated().filter { $0.offset != a }.map(\.element))
        let x = pointer, o = out.pointer
        for i in 0..<outer {
            for k in 0..<inner {
                var m = -Float.infinity
                for j in 0..<n { m = Swift.max(m, x[(i * n + j) * inner + k]) }
                if m == -.infinity { o[i * inner + k] = -.infinity; continue }
                var s: Float = 0
                for j in 0..<n { s += ScalarMath.exp(x[(i * n + j) * inner + k] - m) }
                o[i * inner + k] = m + Foundation.log(s)
            }
        }
        let lse = out.detached()
        return Autograd.record(out, "logsumexp", [self]) { [self] g in
            let (d, beta) = gradTarget()
            for i in 0..<outer {
                for k in 0..<inner {
                    let l = lse.pointer[i * inner + k], gv = g.pointer[i * inner + k]
                    for j in 0..<n {
                        let idx = (i * n + j) * inner + k
                        let v = l == -.infinity ? 0 : gv * ScalarMath.exp(x[idx] - l)
                        d[idx] = beta == 0 ? v : d[idx] + v
                    }
                }
            }
        }
    }
}

import Foundation
