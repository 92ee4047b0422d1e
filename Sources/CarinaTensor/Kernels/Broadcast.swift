// Broadcasting binary kernels and the one place broadcasting is undone for gradients (`sumToShape`).
// Shapes are coalesced so the innermost loop runs over a contiguous run with input strides 1 or 0.

/// Loop structure for z = f(x, y) with NumPy broadcasting: outer rows (multi-index over coalesced
/// outer dims) and an inner contiguous run.
struct BroadcastPlan {
    var outer: [Int] = []        // extents of the coalesced outer dims
    var strideX: [Int] = []      // element strides of x over those dims (0 where broadcast)
    var strideY: [Int] = []
    var inner = 1                 // length of the innermost run
    var innerX = 1                // x stride along the run: 1 or 0
    var innerY = 1
    var rows: Int { outer.reduce(1, *) }

    init(out: [Int], x: [Int], y: [Int]) {
        let n = out.count
        func padded(_ s: [Int]) -> [Int] { [Int](repeating: 1, count: n - s.count) + s }
        let px = padded(x), py = padded(y)
        let cx = ShapeUtil.strides(px), cy = ShapeUtil.strides(py)
        var dims: [(extent: Int, sx: Int, sy: Int)] = []
        for i in 0..<n where out[i] != 1 {
            dims.append((out[i], px[i] == 1 ? 0 : cx[i], py[i] == 1 ? 0 : cy[i]))
        }
        // Coalesce neighbours that are contiguous for both inputs.
        var merged: [(extent: Int, sx: Int, sy: Int)] = []
        for d in dims {
            if let last = merged.last, last.sx == d.sx * d.extent, last.sy == d.sy * d.extent {
                merged[merged.count - 1] = (last.extent * d.extent, d.sx, d.sy)
            } else {
                merged.append(d)
            }
        }
        if let last = merged.popLast() {
            inner = last.extent
            innerX = last.sx
            innerY = last.sy
        }
        outer = merged.map(\.extent)
        strideX = merged.map(\.sx)
        strideY = merged.map(\.sy)
    }

    /// Offsets into x and y of the first element of outer row `row`.
    @inline(__always) func offsets(_ row: Int) -> (Int, Int) {
        var r = row, ox = 0, oy = 0
        var d = outer.count - 1
        while d >= 0 {
            let i = r % outer[d]
            r /= outer[d]
            ox += i * strideX[d]
            oy += i * strideY[d]
            d -= 1
        }
        return (ox, oy)
    }
}

extension Kernels {
    /// z (outShape) = f(x (xShape), y (yShape)) with broadcasting.
    @inline(__always)
    static func broadcastZip(_ x: UnsafePointer<Float>, _ xShape: [Int], _ y: UnsafePointer<Float>, _ yShape: [Int],
                             _ z: UnsafeMutablePointer<Float>, _ outShape: [Int], _ f: (F8, F8) -> F8) {
        if xShape == outShape && yShape == outShape {
            zip(x, y, z, outShape.reduce(1, *), f)
            return
        }
        let plan = BroadcastPlan(out: outShape, x: xShape, y: yShape)
        let inner = plan.inner
        let rowsPerChunk = Kernels.grain(valuesPerItem: inner)
        Parallel.forRanges(plan.rows, grain: rowsPerChunk) { rows in
            for row in rows {
                let (ox, oy) = plan.offsets(row)
                let xp = x + ox, yp = y + oy, zp = z + row * inner
                switch (plan.innerX, plan.innerY) {
                case (1, 1):
                    var i = 0
                    while i + 8 <= inner { store8(f(load8(xp + i), load8(yp + i)), zp + i); i += 8 }
                    if i < inner { storePartial(f(loadPartial(xp + i, inner - i), loadPartial(yp + i, inner - i, pad: 1)), zp + i, inner - i) }
                case (1, 0):
                    let yv = F8(repeating: yp[0])
                    var i = 0
                    while i + 8 <= inner { store8(f(load8(xp + i), yv), zp + i); i += 8 }
                    if i < inner { storePartial(f(loadPartial(xp + i, inner - i), yv), zp + i, inner - i) }
                case (0, 1):
                    let xv = F8(repeating: xp[0])
                    var i = 0
                    while i + 8 <= inner { store8(f(xv, load8(yp + i)), zp + i); i += 8 }
                    if i < inner { storePartial(f(xv, loadPartial(yp + i, inner - i, pad: 1)), zp + i, inner - i) }
                default:
                    let v = f(F8(repeating: xp[0]), F8(repeating: yp[0]))
                    zp.update(repeating: v[0], count: inner)
                }
            }
        }
    }

    /// out (target) = sum of g (gShape) over the axes that broadcasting expanded; `beta` 1 adds to out.
    /// Serial and in a fixed order, so the result does not depend on the thread count.
    static func sumToShape(_ g: UnsafePointer<Float>, _ gShape: [Int], _ out: UnsafeMutablePointer<Float>, _ target: [Int], beta: Float) {
        let n = target.reduce(1, *)
        if gShape == target || gShape.reduce(1, *) == n {
            accumulate(g, into: out, n, beta: beta)
            return
        }
        if beta == 0 { out.update(repeating: 0, count: n) }
        // Reuse the broadcast plan with x = g (never broadcast) and y = out (broadcast where reduced).
        let plan = BroadcastPlan(out: gShape, x: gShape, y: target)
        let inner = plan.inner
        for row in 0..<plan.rows {
            let (og, oo) = plan.offsets(row)
            let gp = g + og, op = out + oo
            if plan.innerY == 1 {
                zip(gp, op, op, inner) { $0 + $1 }
            } else {
                op[0] += sumSerial(gp, inner)
            }
        }
    }
}
