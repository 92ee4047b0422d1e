// Normalisation ops: LayerNorm over the last axis (fused, saves mean and rstd like llm.c), BatchNorm
// over (N, *) per channel with running statistics and optional cross-replica (synchronised) statistics,
// and L2 normalisation over the last axis.

/// Sums buffers across data-parallel replicas (SyncBatchNorm). CarinaDist's communicators conform.
public protocol CrossReplicaSum: AnyObject, Sendable {
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
}

extension Tensor {
    /// LayerNorm over the last axis: (x - mean) / sqrt(var + eps) * weight + bias (weight, bias (C)).
    public func layerNorm(weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) throws -> Tensor {
        let c = shape.last ?? 1
        for p in [weight, bias].compactMap({ $0 }) where p.shape != [c] {
            throw TensorError.shapeMismatch(op: "layer_norm", shapes: [shape, p.shape], detail: "affine parameters must be (\(c))")
        }
        let rows = count / Swift.max(c, 1)
        let out = Tensor(uninitialized: shape)
        let stats = Tensor(uninitialized: [rows, 2])  // (mean, rstd) per row
        let x = pointer, y = out.pointer, st = stats.pointer
        let w = weight?.pointer, b = bias?.pointer
        Parallel.forRanges(rows, grain: Swift.max(1, Kernels.parallelGrain / Swift.max(c, 1))) { r in
            for row in r {
                let xr = x + row * c, yr = y + row * c
                let mean = Kernels.sumSerial(xr, c) / Float(c)
                let mv = F8(repeating: mean)
                var acc = F8()
                var i = 0
                while i + 8 <= c { let d = load8(xr + i) - mv; acc = acc.addingProduct(d, d); i += 8 }
                var v = SIMDMath.sum(acc)
                while i < c { let d = xr[i] - mean; v += d * d; i += 1 }
                let rstd = 1 / (v / Float(c) + eps).squareRoot()
                st[2 * row] = mean
                st[2 * row + 1] = rstd
                let rv = F8(repeating: rstd)
                i = 0
                while i + 8 <= c {
                    var n = (load8(xr + i) - mv) * rv
                    if let w { n = n * load8(w + i) }
                    if let b { n = n + load8(b + i) }
                    store8(n, yr + i)
                    i += 8
                }
                while i < c {
                    var n = (xr[i] - mean) * rstd
                    if let w { n *= w[i] }
                    if let b { n += b[i] }
                    yr[i] = n
                    i += 1
                }
            }
        }
        let inputs = [self] + [weight, bias].compactMap { $0 }
        return Autograd.record(out, "layer_norm", inputs) { [self] g in
            let gp = g.pointer, st = stats.pointer
            let dx: (UnsafeMutablePointer<Float>, Float)? = requiresGrad ? gradTarget() : nil
            let needW = weight?.requiresGrad ?? false, needB = bias?.requiresGrad ?? false
            // Per-chunk partial sums for dweight and dbias, added in chunk order.
            let chunks = Swift.max(1, Swift.min(Parallel.threads, rows / 16))
            let partial = Tensor.zeros([chunks, 2, c])
            let pp = partial.pointer
            Parallel.forEach(chunks) { ch in
                let lo = rows * ch / chunks, hi = rows * (ch + 1) / chunks
                let dw = pp + ch * 2 * c, db = dw + c
                for row in lo..<hi {
                    let xr = x + row * c, gr = gp + row * c
                    let mean = st[2 * row], rstd = st[2 * row + 1]
                    // mean(dnorm) and mean(dnorm * norm), dnorm = g * w
                    var s1: Float = 0, s2: Float = 0
                    for i in 0..<c {
                        let norm = (xr[i] - mean) * rstd
                        let dn = gr[i] * (w?[i] ?? 1)
                        s1 += dn
                        s2 += dn * norm
                        if needW { dw[i] += gr[i] * norm }
                        if needB { db[i] += gr[i] }
                    }
                    s1 /= Float(c)
                    s2 /= Float(c)
                    if let (d, beta) = dx {
                        let dr = d + row * c
                        for i in 0..<c {
                            let norm = (xr[i] - mean) * rstd
                            let dn = gr[i] * (w?[i] ?? 1)
                            let v = rstd * (dn - s1 - norm * s2)
                            dr[i] = beta == 0 ? v : dr[i] + v
                        }
                    }
                }
            }
            if needW, let weight {
                let (p, beta) = weight.gradTarget()
                for ch in 0..<chunks { Kernels.accumulate(pp + ch * 2 * c, into: p, c, beta: ch == 0 ? beta : 1) }
            }
            if needB, let bias {
                let (p, beta) = bias.gradTarget()
                for ch in 0..<chunks { Kernels.accumulate(pp + ch * 2 * c + c, into: p, c, beta: ch == 0 ? beta : 1) }
            }
            withExtendedLifetime(partial) {}
        }
    }

    /// x / Swift.max(||x||, eps) over the last axis.
    public func l2Normalized(eps: Float = 1e-12) throws -> Tensor {
        let c = shape.last ?? 1
        let rows = count / Swift.max(c, 1)
        let out = Tensor(uninitialized: shape)
        let norms = Tensor(uninitialized: [rows])
        let x = pointer, y = out.pointer, nm = norms.pointer
        for row in 0..<rows {
            let n = Kernels.dot(x + row * c, x + row * c, c).squareRoot()
            let d = Swift.max(n, eps)
            nm[row] = d
            Kernels.scale(x + row * c, 1 / d, y + row * c, c)
        }
        let yd = out.detached()
        return Autograd.record(out, "l2_normalize", [self]) { [self] g in
            let (d, beta) = gradTarget()
            let nm = norms.pointer
            for row in 0..<rows {
                let gr = g.pointer + row * c, yr = yd.pointer + row * c, dr = d + row * c
                let inv = 1 / nm[row]
                // Inside the eps clamp the map is x/eps: the gradient is g/eps.
                let dotGY = nm[row] > eps ? Kernels.dot(gr, yr, c) : 0
                for i in 0..<c {
                    let v = (gr[i] - yr[i] * dotGY) * inv
                    dr[i] = beta == 0 ? v : dr[i] + v
                }
            }
        }
    }

    /// BatchNorm over axis 1 of (N, C, *): per channel statistics over N and the trailing axes.
    /// In training, batch statistics are used (summed over replicas when `sync` is given) and the
    /// running statistics updated with `momentum` (unbiased variance, like PyTorch); in evaluation the
    /// running statistics are used.
    public func batchNorm(weight: Tensor?, bias: Tensor?, runningMean: Tensor, runningVar: Tensor,
                          training: Bool, momentum: Float = 0.1, eps: Float = 1e-5, sync: CrossReplicaSum? = nil) throws -> Tensor {
        guard rank >= 2 else { throw TensorError.wrongRank(op: "batch_norm", shape: shape, expected: "(N, C, ...)") }
        let (n, c) = (shape[0], shape[1])
        let s = count / Swift.max(n * c, 1)
        for p in [weight, bias, runningMean, runningVar].compactMap({ $0 }) where p.shape != [c] {
            throw TensorError.shapeMismatch(op: "batch_norm", shapes: [shape, p.shape], detail: "per-channel tensors must be (\(c))")
        }
        let x = pointer
        // mean and rstd per channel
        var mean = [Float](repeating: 0, count: c), rstd = [Float](repeating: 0, count: c)
        var total = Float(n * s)
        if training {
            var sums = [Float](repeating: 0, count: 2 * c + 1)
            for ch in 0..<c {
                var s1 = 0.0, s2 = 0.0
                for i in 0..<n {
                    let p = x + (i * c + ch) * s
                    s1 += Double(Kernels.sumSerial(p, s))
                    s2 += Double(Kernels.dot(p, p, s))
                }
                sums[ch] = Float(s1)
                sums[c + ch] = Float(s2)
            }
            sums[2 * c] = total
            if let sync { try sums.withUnsafeMutableBufferPointer { try sync.allReduceSum($0) } }
            total = sums[2 * c]
            guard total > 1 else {
                throw TensorError.invalidArgument(op: "batch_norm", detail: "training needs more than one value per channel, got input \(shape)")
            }
            for ch in 0..<c {
                let m = Double(sums[ch]) / Double(total)
                let v = Swift.max(Double(sums[c + ch]) / Double(total) - m * m, 0)
                mean[ch] = Float(m)
                rstd[ch] = Float(1 / (v + Double(eps)).squareRoot())
                let rm = runningMean.pointer, rv = runningVar.pointer
                rm[ch] = (1 - momentum) * rm[ch] + momentum * Float(m)
                rv[ch] = (1 - momentum) * rv[ch] + momentum * Float(v * Double(total) / Double(total - 1))
            }
        } else {
            for ch in 0..<c {
                mean[ch] = runningMean.pointer[ch]
                rstd[ch] = 1 / (runningVar.pointer[ch] + eps).squareRoot()
            }
        }
        let out = Tensor(uninitialized: shape)
        let y = out.pointer
        let w = weight?.pointer, b = bias?.pointer
        Parallel.forEach(n) { i in
            for ch in 0..<c {
                let scale = rstd[ch] * (w?[ch] ?? 1)
                let shift = (b?[ch] ?? 0) - mean[ch] * scale
                Kernels.map(x + (i * c + ch) * s, y + (i * c + ch) * s, s) { $0 * scale + shift }
            }
        }
        let inputs = [self] + [weight, bias].compactMap { $0 }
        let m = total
        return Autograd.record(out, "batch_norm", inputs) { [self] g in
            let gp = g.pointer
            // Per channel: sum(g) and sum(g * xhat), summed over replicas in sync mode.
            var sums = [Float](repeating: 0, count: 2 * c)
            for ch in 0..<c {
                var sg = 0.0, sgx = 0.0
                for i in 0..<n {
                    let off = (i * c + ch) * s
                    sg += Double(Kernels.sumSerial(gp + off, s))
                    sgx += Double(Kernels.dot(gp + off, x + off, s)) - Double(mean[ch]) * Double(Kernels.sumSerial(gp + off, s))
                }
                sums[ch] = Float(sg)
                sums[c + ch] = Float(sgx) * rstd[ch]
            }
            if training, let sync { try sums.withUnsafeMutableBufferPointer { try sync.allReduceSum($0) } }
            if let weight, weight.requiresGrad {
                let (p, beta) = weight.gradTarget()
                for ch in 0..<c { p[ch] = (beta == 0 ? 0 : p[ch]) + sums[c + ch] }
            }
            if let bias, bias.requiresGrad {
                let (p, beta) = bias.gradTarget()
                for ch in 0..<c { p[ch] = (beta == 0 ? 0 : p[ch]) + sums[ch] }
            }
            if requiresGrad {
                let (d, beta) = gradTarget()
                Parallel.forEach(n) { i in
                    for ch in 0..<c {
                        let off = (i * c + ch) * s
                        let gamma = w?[ch] ?? 1
                        if training {
                            // dx = gamma * rstd / M * (M g - sum g - xhat * sum(g xhat))
                            let k = gamma * rstd[ch] / m
                            let sg = sums[ch], sgx = sums[c + ch], mu = mean[ch], r = rstd[ch]
                            for j in 0..<s {
                                let xhat = (x[off + j] - mu) * r
                                let v = k * (m * gp[off + j] - sg - xhat * sgx)
                                d[off + j] = beta == 0 ? v : d[off + j] + v
                            }
                        } else {
                            let k = gamma * rstd[ch]
                            for j in 0..<s {
                                let v = k * gp[off + j]
                                d[off + j] = beta == 0 ? v : d[off + j] + v
                            }
                        }
                    }
                }
            }
        }
    }
}
