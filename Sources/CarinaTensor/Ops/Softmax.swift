// Softmax and log-softmax over an axis: one fused, numerically stable pass per row (max, exp-sum,
// scale), and their closed-form gradients. Rows of all -inf give zeros (softmax) rather than NaN.

extension Kernels {
    /// y (rows, n) = softmax of each row of x; rows `ld` apart (default n), the floats between left alone.
    static func softmaxRows(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, n: Int, log: Bool, ld: Int? = nil) {
        let ld = ld ?? n
        Parallel.forRanges(rows, grain: Kernels.grain(valuesPerItem: n)) { r in
            for row in r {
                let xr = x + row * ld, yr = y + row * ld
                let m = maxSerial(xr, n)
                if m == -.infinity {
                    yr.update(repeating: log ? -.infinity : 0, count: n)
                    continue
                }
                let mv = F8(repeating: m)
                var acc = F8()
                var i = 0
                while i + 8 <= n {
                    let e = SIMDMath.expOfNonPositive(load8(xr + i) - mv)
                    if !log { store8(e, yr + i) }
                    acc += e
                    i += 8
                }
                if i < n {
                    let e = SIMDMath.expOfNonPositive(loadPartial(xr + i, n - i, pad: -.infinity) - mv)
                    if !log { storePartial(e, yr + i, n - i) }
                    acc += e
                }
                let s = SIMDMath.sum(acc)
                if log {
                    let lse = F8(repeating: m + ScalarMath.log(s))
                    i = 0
                    while i + 8 <= n { store8(load8(xr + i) - lse, yr + i); i += 8 }
                    while i < n { yr[i] = xr[i] - lse[0]; i += 1 }
                } else {
                    let inv = F8(repeating: 1 / s)
                    i = 0
                    while i + 8 <= n { store8(load8(yr + i) * inv, yr + i); i += 8 }
                    while i < n { yr[i] *= inv[0]; i += 1 }
                }
            }
        }
    }
}

extension Tensor {
    /// Softmax over `axis` (last by default).
    public func softmax(axis: Int = -1) throws -> Tensor {
        try softmaxLike(axis: axis, log: false)
    }

    /// Log-softmax over `axis` (last by default).
    public func logSoftmax(axis: Int = -1) throws -> Tensor {
        try softmaxLike(axis: axis, log: true)
    }

    private func softmaxLike(axis: Int, log: Bool) throws -> Tensor {
        let op = log ? "log_softmax" : "softmax"
        let a = try ShapeUtil.axis(axis, rank: rank, op: op)
        if a != rank - 1 {
            // Move the axis last, apply, move it back.
            var order = Array(0..<rank)
            order.remove(at: a)
            order.append(a)
            var back = [Int](repeating: 0, count: rank)
            for (i, o) in order.enumerated() { back[o] = i }
            return try permuted(order).softmaxLike(axis: -1, log: log).permuted(back)
        }
        let n = Swift.max(shape.last ?? 1, 1)
        let rows = count / n
        let out = Tensor(uninitialized: shape)
        Kernels.softmaxRows(pointer, out.pointer, rows: rows, n: n, log: log)
        let y = out.detached()
        return Autograd.record(out, op, [self]) { [self] g in
            let (d, beta) = gradTarget()
            let yp = y.pointer, gp = g.pointer
            Parallel.forRanges(rows, grain: Kernels.grain(valuesPerItem: n)) { r in
                for row in r {
                    let yr = yp + row * n, gr = gp + row * n, dr = d + row * n
                    if log {
                        // dx = g - softmax * sum(g)
                        let s = F8(repeating: Kernels.sumSerial(gr, n))
                        var i = 0
                        while i + 8 <= n {
                            let v = load8(gr + i) - SIMDMath.expOfNonPositive(load8(yr + i)) * s  // y = x - logsumexp <= 0
                            store8(beta == 0 ? v : load8(dr + i) + v, dr + i)
                            i += 8
                        }
                        while i < n {
                            let v = gr[i] - ScalarMath.exp(yr[i]) * s[0]
                            dr[i] = beta == 0 ? v : dr[i] + v
                            i += 1
                        }
                    } else {
                        // dx = y * (g - sum(g * y))
                        let s = F8(repeating: Kernels.dot(gr, yr, n))
                        var i = 0
                        while i + 8 <= n {
                            let v = load8(yr + i) * (load8(gr + i) - s)
                            store8(beta == 0 ? v : load8(dr + i) + v, dr + i)
                            i += 8
                        }
                        while i < n {
                            let v = yr[i] * (gr[i] - s[0])
                            dr[i] = beta == 0 ? v : dr[i] + v
                            i += 1
                        }
                    }
                }
            }
        }
    }
}
