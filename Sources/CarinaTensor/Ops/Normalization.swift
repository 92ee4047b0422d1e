// Normalisation ops: LayerNorm over the last axis (fused, saves mean and rstd like llm.c), BatchNorm
// over (N, *) per channel with running statistics and optional cross-replica (synchronised) statistics,
// and L2 normalisation over the last axis.

/// Sums buffers across data-parallel replicas (SyncBatchNorm), in Double: a per-channel sum of 1e4-sized
/// values must keep its last digits. Every CarinaDist communicator conforms.
public protocol CrossReplicaSum: AnyObject, Sendable {
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws
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
        Parallel.forRanges(rows, grain: Kernels.grain(valuesPerItem: c)) { r in
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
            // dweight and dbias: each channel summed over the rows in row order from zero, then added to the
            // gradient, whatever the thread count (per-thread partial sums made a run's bits depend on it).
            // On one thread in the same pass as dx; on several, dx by rows and the sums by channels.
            let sums = needW || needB ? Tensor.zeros([2, c]) : nil
            let dw = sums?.pointer, db = dw.map { $0 + c }
            @inline(__always) func accumulateSums(row: Int, channels: Range<Int>) {
                guard let dw, let db else { return }
                let xr = x + row * c, gr = gp + row * c
                let mean = st[2 * row], rstd = st[2 * row + 1]
                for i in channels {
                    if needW { dw[i] += gr[i] * ((xr[i] - mean) * rstd) }
                    if needB { db[i] += gr[i] }
                }
            }
            // dx (and, on one thread, the sums) for rows `r`.
            func backwardRows(_ r: Range<Int>, withSums: Bool) {
                for row in r {
                    let xr = x + row * c, gr = gp + row * c
                    let mean = st[2 * row], rstd = st[2 * row + 1]
                    // mean(dnorm) and mean(dnorm * norm), dnorm = g * w
                    var s1: Float = 0, s2: Float = 0
                    for i in 0..<c {
                        let norm = (xr[i] - mean) * rstd
                        let dn = gr[i] * (w?[i] ?? 1)
                        s1 += dn
                        s2 += dn * norm
                    }
                    if withSums { accumulateSums(row: row, channels: 0..<c) }
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
            let threads = Parallel.threads
            if threads == 1 || rows < 2 * threads {
                backwardRows(0..<rows, withSums: true)
            } else {
                // Each thread walks the rows in blocks of 64: dx for its share of a block's rows, then the sums of
                // its share of the channels over the whole block (the block's other rows are being read by the
                // other threads at the same time, so they come from the shared cache, not memory again).
                Parallel.forEach(threads) { t in
                    let channels = (c * t / threads)..<(c * (t + 1) / threads)
                    var start = 0
                    while start < rows {
                        let count = Swift.min(64, rows - start)
                        backwardRows((start + count * t / threads)..<(start + count * (t + 1) / threads), withSums: false)
                        if sums != nil, !channels.isEmpty {
                            for row in start..<(start + count) { accumulateSums(row: row, channels: channels) }
                        }
                        start += count
                    }
                }
            }
            if needW, let weight, let dw {
                let (p, beta) = weight.gradTarget()
                Kernels.accumulate(dw, into: p, c, beta: beta)
            }
            if needB, let bias, let db {
                let (p, beta) = bias.gradTarget()
                Kernels.accumulate(db, into: p, c, beta: beta)
            }
            withExtendedLifetime(sums) {}
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
    /// In training, batch statistics are used and the running statistics updated with `momentum`
    /// (unbiased variance, like PyTorch); in evaluation the running statistics are used. The variance
    /// is two-pass, both in Double: the mean, then the squared deviations from it, so it survives
    /// |mean| ≫ std. With `sync` (SyncBatchNorm) both sums run over the union of replicas (two
    /// cross-replica sums forward, one backward for the input gradient), giving one process's result on
    /// the concatenated batch; the weight and bias gradients stay this replica's own, for data
    /// parallelism to sum like any other parameter's (as PyTorch's SyncBatchNorm).
    public func batchNorm(weight: Tensor?, bias: Tensor?, runningMean: Tensor, runningVar: Tensor,
                          training: Bool, momentum: Float = 0.1, eps: Float = 1e-5, sync: CrossReplicaSum? = nil) throws -> Tensor {
        guard rank >= 2 else { throw TensorError.wrongRank(op: "batch_norm", shape: shape, expected: "(N, C, ...)") }
        let (n, c) = (shape[0], shape[1])
        let s = count / Swift.max(n * c, 1)
        for p in [weight, bias, runningMean, runningVar].compactMap({ $0 }) where p.shape != [c] {
            throw TensorError.shapeMismatch(op: "batch_norm", shapes: [shape, p.shape], detail: "per-channel tensors must be (\(c))")
        }
        let x = pointer  // (N, C, S)
        // Per channel: the mean (Double), and 1 / sqrt(var + eps).
        var mean = [Double](repeating: 0, count: c), rstd = [Float](repeating: 0, count: c)
        var total = Double(n * s)
        if training {
            // Pass 1: Σ x per channel and the number of values, over replicas in sync mode.
            var sums = [Double](repeating: 0, count: c + 1)
            Kernels.channelSums(n: n, c: c, s: s, into: &sums) { ch, off in Kernels.sumInDouble(x + off, s) }
            sums[c] = total
            if let sync { try sums.withUnsafeMutableBufferPointer { try sync.allReduceSum($0) } }
            total = sums[c]
            guard total > 1 else {
                throw TensorError.invalidArgument(op: "batch_norm", detail: "training needs more than one value per channel, got input \(shape)")
            }
            for ch in 0..<c { mean[ch] = sums[ch] / total }
            // Pass 2: Σ (x - mean)² per channel, over replicas in sync mode.
            var squares = [Double](repeating: 0, count: c)
            Kernels.channelSums(n: n, c: c, s: s, into: &squares) { ch, off in Kernels.sumOfSquaredDeviations(x + off, s, from: mean[ch]) }
            if let sync { try squares.withUnsafeMutableBufferPointer { try sync.allReduceSum($0) } }
            let rm = runningMean.pointer, rv = runningVar.pointer
            for ch in 0..<c {
                let v = squares[ch] / total
                rstd[ch] = Float(1 / (v + Double(eps)).squareRoot())
                rm[ch] = (1 - momentum) * rm[ch] + momentum * Float(mean[ch])
                rv[ch] = (1 - momentum) * rv[ch] + momentum * Float(v * total / (total - 1))
            }
        } else {
            for ch in 0..<c {
                mean[ch] = Double(runningMean.pointer[ch])
                rstd[ch] = 1 / (runningVar.pointer[ch] + eps).squareRoot()
            }
        }
        // The mean as a Float and the Float rest: x - meanHigh is exact near the mean, so xhat keeps the
        // digits a Float mean of 1e4 would lose (its spacing there is 1e-3).
        let meanHigh = mean.map { Float($0) }
        let meanLow = (0..<c).map { Float(mean[$0] - Double(meanHigh[$0])) }
        let out = Tensor(uninitialized: shape)
        let y = out.pointer
        let w = weight?.pointer, b = bias?.pointer
        Parallel.forEach(n) { i in
            for ch in 0..<c {
                let scale = rstd[ch] * (w?[ch] ?? 1), shift = b?[ch] ?? 0
                let high = meanHigh[ch], low = meanLow[ch]
                Kernels.map(x + (i * c + ch) * s, y + (i * c + ch) * s, s) { ($0 - high - low) * scale + shift }
            }
        }
        let inputs = [self] + [weight, bias].compactMap { $0 }
        let m = Float(total)
        return Autograd.record(out, "batch_norm", inputs) { [self] g in
            let gp = g.pointer
            // Per channel: sum(g) and sum(g * xhat) = rstd * sum(g * (x - mean)), this replica's (the
            // bias and weight gradients) and, in sync mode, summed over replicas (for the input gradient).
            // The channels split over the threads, each summed over the samples in order.
            var local = [Double](repeating: 0, count: 2 * c)
            local.withUnsafeMutableBufferPointer { out in
                let lp = out.baseAddress!
                Parallel.forRanges(c, grain: Kernels.grain(valuesPerItem: n * s)) { channels in
                    for ch in channels {
                        for i in 0..<n {
                            let off = (i * c + ch) * s
                            lp[ch] += Kernels.sumInDouble(gp + off, s)
                            lp[c + ch] += Kernels.dotWithDeviations(gp + off, x + off, s, from: mean[ch])
                        }
                        lp[c + ch] *= Double(rstd[ch])
                    }
                }
            }
            var sums = local
            if training, let sync { try sums.withUnsafeMutableBufferPointer { try sync.allReduceSum($0) } }
            if let weight, weight.requiresGrad {
                let (p, beta) = weight.gradTarget()
                for ch in 0..<c { p[ch] = (beta == 0 ? 0 : p[ch]) + Float(local[c + ch]) }
            }
            if let bias, bias.requiresGrad {
                let (p, beta) = bias.gradTarget()
                for ch in 0..<c { p[ch] = (beta == 0 ? 0 : p[ch]) + Float(local[ch]) }
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
                            let sg = Float(sums[ch]), sgx = Float(sums[c + ch]), r = rstd[ch]
                            let high = meanHigh[ch], low = meanLow[ch]
                            for j in 0..<s {
                                let xhat = (x[off + j] - high - low) * r
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

extension Kernels {
    /// sums[ch] = Σ over samples i in order of term(ch, offset of (i, ch)) for an (N, C, S) tensor, starting from 0:
    /// each channel summed as a serial loop would, the channels split over the threads (BatchNorm's statistics in
    /// one process had run on one thread).
    static func channelSums(n: Int, c: Int, s: Int, into sums: inout [Double], _ term: (Int, Int) -> Double) {
        sums.withUnsafeMutableBufferPointer { out in
            let p = out.baseAddress!
            Parallel.forRanges(c, grain: grain(valuesPerItem: n * s)) { r in
                for ch in r {
                    var sum: Double = 0
                    for i in 0..<n { sum += term(ch, (i * c + ch) * s) }
                    p[ch] = sum
                }
            }
        }
    }
}
