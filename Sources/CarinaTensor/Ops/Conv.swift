// 2-D convolution (NCHW, weight (OC, C, KH, KW)) by im2col + GEMM, one image per task; max and
// average pooling. Gradients: dW by GEMM against the recomputed columns, dX by GEMM then col2im.

/// Geometry of a 2-D window op.
public struct Conv2DGeometry: Sendable, Equatable {
    public var kernel: (h: Int, w: Int)
    public var stride: (h: Int, w: Int)
    public var padding: (h: Int, w: Int)

    public init(kernel: Int, stride: Int = 1, padding: Int = 0) {
        self.init(kernelH: kernel, kernelW: kernel, strideH: stride, strideW: stride, padH: padding, padW: padding)
    }

    public init(kernelH: Int, kernelW: Int, strideH: Int = 1, strideW: Int = 1, padH: Int = 0, padW: Int = 0) {
        kernel = (kernelH, kernelW)
        stride = (strideH, strideW)
        padding = (padH, padW)
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.kernel == b.kernel && a.stride == b.stride && a.padding == b.padding
    }

    func outputSize(_ h: Int, _ w: Int) -> (Int, Int) {
        ((h + 2 * padding.h - kernel.h) / stride.h + 1, (w + 2 * padding.w - kernel.w) / stride.w + 1)
    }
}

extension Kernels {
    /// col (C*KH*KW, OH*OW) from one image x (C, H, W); with `rows`, only those rows of col (row (ch*KH + ki)*KW + kj
    /// holds channel ch shifted by (ki, kj)), written from `col` on.
    static func im2col(_ x: UnsafePointer<Float>, c: Int, h: Int, w: Int, _ g: Conv2DGeometry, oh: Int, ow: Int,
                       rows: Range<Int>? = nil, _ col: UnsafeMutablePointer<Float>) {
        let (kh, kw) = g.kernel, (sh, sw) = g.stride, (ph, pw) = g.padding
        let rows = rows ?? 0..<(c * kh * kw)
        for r in rows {
            let (ch, ki, kj) = (r / (kh * kw), r / kw % kh, r % kw)
            let row = col + (r - rows.lowerBound) * oh * ow
            for oy in 0..<oh {
                let iy = oy * sh - ph + ki
                let dst = row + oy * ow
                if iy < 0 || iy >= h {
                    dst.update(repeating: 0, count: ow)
                    continue
                }
                let src = x + (ch * h + iy) * w
                if sw == 1 {
                    // contiguous run with zero borders
                    let lo = Swift.max(0, pw - kj), hi = Swift.min(ow, w + pw - kj)
                    if lo > 0 { dst.update(repeating: 0, count: lo) }
                    if hi > lo { (dst + lo).update(from: src + lo - pw + kj, count: hi - lo) }
                    if hi < ow { (dst + Swift.max(hi, 0)).update(repeating: 0, count: ow - Swift.max(hi, 0)) }
                } else {
                    for ox in 0..<ow {
                        let ix = ox * sw - pw + kj
                        dst[ox] = (ix >= 0 && ix < w) ? src[ix] : 0
                    }
                }
            }
        }
    }

    /// dx (C, H, W) += col2im(dcol (C*KH*KW, OH*OW)).
    static func col2im(_ col: UnsafePointer<Float>, c: Int, h: Int, w: Int, _ g: Conv2DGeometry, oh: Int, ow: Int, _ dx: UnsafeMutablePointer<Float>) {
        let (kh, kw) = g.kernel, (sh, sw) = g.stride, (ph, pw) = g.padding
        for ch in 0..<c {
            for ki in 0..<kh {
                for kj in 0..<kw {
                    let row = col + ((ch * kh + ki) * kw + kj) * oh * ow
                    for oy in 0..<oh {
                        let iy = oy * sh - ph + ki
                        if iy < 0 || iy >= h { continue }
                        let dst = dx + (ch * h + iy) * w
                        let src = row + oy * ow
                        for ox in 0..<ow {
                            let ix = ox * sw - pw + kj
                            if ix >= 0 && ix < w { dst[ix] += src[ox] }
                        }
                    }
                }
            }
        }
    }
}

extension Tensor {
    /// 2-D convolution: x (N, C, H, W), weight (OC, C, KH, KW), bias (OC) -> (N, OC, OH, OW).
    public func conv2d(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0) throws -> Tensor {
        guard weight.rank == 4 else { throw TensorError.wrongRank(op: "conv2d", shape: weight.shape, expected: "a (out, in, kh, kw) weight") }
        return try conv2d(weight: weight, bias: bias, geometry: Conv2DGeometry(
            kernelH: weight.shape[2], kernelW: weight.shape[3], strideH: stride, strideW: stride, padH: padding, padW: padding))
    }

    public func conv2d(weight: Tensor, bias: Tensor?, geometry g: Conv2DGeometry) throws -> Tensor {
        guard rank == 4 else { throw TensorError.wrongRank(op: "conv2d", shape: shape, expected: "(N, C, H, W)") }
        guard weight.rank == 4 else { throw TensorError.wrongRank(op: "conv2d", shape: weight.shape, expected: "a (out, in, kh, kw) weight") }
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let oc = weight.shape[0]
        guard weight.shape[1] == c, weight.shape[2] == g.kernel.h, weight.shape[3] == g.kernel.w else {
            throw TensorError.shapeMismatch(op: "conv2d", shapes: [shape, weight.shape], detail: "input channels \(c) vs weight \(weight.shape[1])")
        }
        if let bias, bias.shape != [oc] {
            throw TensorError.shapeMismatch(op: "conv2d", shapes: [weight.shape, bias.shape], detail: "bias must be (\(oc))")
        }
        let (oh, ow) = g.outputSize(h, w)
        guard oh > 0, ow > 0 else {
            throw TensorError.invalidArgument(op: "conv2d", detail: "input \(shape) too small for kernel \(g.kernel) with padding \(g.padding)")
        }
        let ckk = c * g.kernel.h * g.kernel.w
        let hw = oh * ow
        let direct = g.kernel == (1, 1) && g.stride == (1, 1) && g.padding == (0, 0)
        let out = Tensor(uninitialized: [n, oc, oh, ow])
        let x = pointer, wp = weight.pointer, op = out.pointer
        let tasks = Swift.min(n, Parallel.threads)
        Parallel.forEach(tasks) { t in
            let col = direct ? nil : Tensor(uninitialized: [ckk, hw])
            defer { withExtendedLifetime(col) {} }
            for i in stride(from: t, to: n, by: tasks) {
                let xi = x + i * c * h * w, oi = op + i * oc * hw
                let cp: UnsafePointer<Float>
                if let col { Kernels.im2col(xi, c: c, h: h, w: w, g, oh: oh, ow: ow, col.pointer); cp = UnsafePointer(col.pointer) } else { cp = UnsafePointer(xi) }
                if let bias {
                    for o in 0..<oc { (oi + o * hw).update(repeating: bias.pointer[o], count: hw) }
                }
                BLAS.sgemm(transA: false, transB: false, m: oc, n: hw, k: ckk, a: wp, lda: ckk, b: cp, ldb: hw,
                           beta: bias == nil ? 0 : 1, c: oi, ldc: hw, threads: tasks > 1 ? 1 : nil)
            }
        }
        let inputs = [self, weight] + (bias.map { [$0] } ?? [])
        return Autograd.record(out, "conv2d", inputs) { [self] gOut in
            let gp = gOut.pointer
            let dx = requiresGrad ? gradZeroed() : nil
            // dW (oc, ckk) += dY_i (oc, hw) colᵀ for the samples in order (per-thread partial sums over samples
            // made a run's bits depend on the thread count). dW's columns — col's rows, one per (channel, ki, kj) —
            // are split over the threads instead: each thread builds only its rows of every sample's col and
            // multiplies them on its own, so im2col runs in parallel and there is one fork-join per call, not one
            // per sample (small convolutions' products were too small to split and ran on one thread). Each
            // element is the same chain of products as on one thread: Carina's GEMM gives the same bits for any
            // split of the columns.
            if weight.requiresGrad {
                let sum = Tensor.zeros([oc * ckk])
                let parts = Swift.min(Parallel.threads, Swift.max(1, ckk / 4))
                Parallel.forEach(parts) { t in
                    let rows = (ckk * t / parts)..<(ckk * (t + 1) / parts)
                    let col = direct ? nil : Tensor(uninitialized: [rows.count, hw])
                    defer { withExtendedLifetime(col) {} }
                    for i in 0..<n {
                        let xi = x + i * c * h * w, gi = gp + i * oc * hw
                        let cp: UnsafePointer<Float>
                        if let col {
                            Kernels.im2col(xi, c: c, h: h, w: w, g, oh: oh, ow: ow, rows: rows, col.pointer)
                            cp = UnsafePointer(col.pointer)
                        } else {
                            cp = UnsafePointer(xi + rows.lowerBound * hw)
                        }
                        BLAS.sgemm(transA: false, transB: true, m: oc, n: rows.count, k: hw, a: gi, lda: hw, b: cp, ldb: hw,
                                   beta: 1, c: sum.pointer + rows.lowerBound, ldc: ckk, threads: 1)
                    }
                }
                let (p, beta) = weight.gradTarget()
                Kernels.accumulate(sum.pointer, into: p, oc * ckk, beta: beta)
            }
            if let dx {  // dX_i depends on sample i alone: samples spread over the threads
                Parallel.forEach(tasks) { t in
                    let dcol = direct ? nil : Tensor(uninitialized: [ckk, hw])
                    defer { withExtendedLifetime(dcol) {} }
                    for i in stride(from: t, to: n, by: tasks) {
                        let gi = gp + i * oc * hw, di = dx + i * c * h * w
                        if direct {
                            // dX_i (c, hw) += Wᵀ dY_i
                            BLAS.sgemm(transA: true, transB: false, m: ckk, n: hw, k: oc, a: wp, lda: ckk, b: gi, ldb: hw,
                                       beta: 1, c: di, ldc: hw, threads: tasks > 1 ? 1 : nil)
                        } else if let dcol {
                            BLAS.sgemm(transA: true, transB: false, m: ckk, n: hw, k: oc, a: wp, lda: ckk, b: gi, ldb: hw,
                                       beta: 0, c: dcol.pointer, ldc: hw, threads: tasks > 1 ? 1 : nil)
                            Kernels.col2im(dcol.pointer, c: c, h: h, w: w, g, oh: oh, ow: ow, di)
                        }
                    }
                }
            }
            if let bias, bias.requiresGrad {
                let (p, beta) = bias.gradTarget()
                // Each channel's sum over the samples in order, the channels split over the threads.
                Parallel.forRanges(oc, grain: Kernels.grain(valuesPerItem: n * hw)) { r in
                    for o in r {
                        var sum: Float = 0
                        for i in 0..<n { sum += Kernels.sumSerial(gp + (i * oc + o) * hw, hw) }
                        p[o] = (beta == 0 ? 0 : p[o]) + sum
                    }
                }
            }
        }
    }

    /// Max pooling over (N, C, H, W); padding counts as -inf. The gradient goes to each window's first max.
    public func maxPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0) throws -> Tensor {
        guard rank == 4 else { throw TensorError.wrongRank(op: "max_pool2d", shape: shape, expected: "(N, C, H, W)") }
        let g = Conv2DGeometry(kernel: kernel, stride: stride ?? kernel, padding: padding)
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (oh, ow) = g.outputSize(h, w)
        guard oh > 0, ow > 0, padding * 2 <= kernel else {
            throw TensorError.invalidArgument(op: "max_pool2d", detail: "input \(shape) with kernel \(kernel), padding \(padding)")
        }
        let out = Tensor(uninitialized: [n, c, oh, ow])
        var argmax = [Int32](repeating: -1, count: out.count)
        let x = pointer, o = out.pointer
        argmax.withUnsafeMutableBufferPointer { am in
            let amp = am.baseAddress!
            Parallel.forEach(n * c) { plane in
                let xp = x + plane * h * w
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var best = -Float.infinity, bestIdx: Int32 = -1
                        for ki in 0..<kernel {
                            let iy = oy * g.stride.h - padding + ki
                            if iy < 0 || iy >= h { continue }
                            for kj in 0..<kernel {
                                let ix = ox * g.stride.w - padding + kj
                                if ix < 0 || ix >= w { continue }
                                let v = xp[iy * w + ix]
                                if v > best || bestIdx < 0 { best = v; bestIdx = Int32(iy * w + ix) }
                            }
                        }
                        let oidx = (plane * oh + oy) * ow + ox
                        o[oidx] = best
                        amp[oidx] = bestIdx
                    }
                }
            }
        }
        let ohw = oh * ow
        return Autograd.record(out, "max_pool2d", [self]) { [self] gOut in
            let d = gradZeroed()
            Parallel.forRanges(n * c, grain: Kernels.grain(valuesPerItem: ohw)) { planes in
                for plane in planes {
                    for j in 0..<ohw {
                        let idx = argmax[plane * ohw + j]
                        if idx >= 0 { d[plane * h * w + Int(idx)] += gOut.pointer[plane * ohw + j] }
                    }
                }
            }
        }
    }

    /// Average pooling over (N, C, H, W); zero padding is counted in the divisor (PyTorch's default).
    public func avgPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0) throws -> Tensor {
        guard rank == 4 else { throw TensorError.wrongRank(op: "avg_pool2d", shape: shape, expected: "(N, C, H, W)") }
        let g = Conv2DGeometry(kernel: kernel, stride: stride ?? kernel, padding: padding)
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (oh, ow) = g.outputSize(h, w)
        guard oh > 0, ow > 0 else {
            throw TensorError.invalidArgument(op: "avg_pool2d", detail: "input \(shape) with kernel \(kernel), padding \(padding)")
        }
        let out = Tensor(uninitialized: [n, c, oh, ow])
        let x = pointer, o = out.pointer
        let inv = 1 / Float(kernel * kernel)
        func window(_ oy: Int, _ ox: Int, _ body: (Int) -> Void) {
            for ki in 0..<kernel {
                let iy = oy * g.stride.h - padding + ki
                if iy < 0 || iy >= h { continue }
                for kj in 0..<kernel {
                    let ix = ox * g.stride.w - padding + kj
                    if ix >= 0 && ix < w { body(iy * w + ix) }
                }
            }
        }
        Parallel.forRanges(n * c, grain: Kernels.grain(valuesPerItem: oh * ow)) { planes in
            for plane in planes {
                let xp = x + plane * h * w
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var s: Float = 0
                        window(oy, ox) { s += xp[$0] }
                        o[(plane * oh + oy) * ow + ox] = s * inv
                    }
                }
            }
        }
        return Autograd.record(out, "avg_pool2d", [self]) { [self] gOut in
            let d = gradZeroed()
            Parallel.forRanges(n * c, grain: Kernels.grain(valuesPerItem: oh * ow)) { planes in
                for plane in planes {
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            let v = gOut.pointer[(plane * oh + oy) * ow + ox] * inv
                            window(oy, ox) { d[plane * h * w + $0] += v }
                        }
                    }
                }
            }
        }
    }

    /// Nearest-neighbour upsampling by an integer `factor` (PyTorch's `interpolate(mode="nearest",
    /// scale_factor=factor)`): output pixel (y, x) copies input pixel (y / factor, x / factor).
    /// PRIOR's image decoder doubles its map before every block.
    public func upsampleNearest2d(factor: Int) throws -> Tensor {
        guard rank == 4 else { throw TensorError.wrongRank(op: "upsample_nearest2d", shape: shape, expected: "(N, C, H, W)") }
        guard factor >= 1, factor <= 64 else { throw TensorError.invalidArgument(op: "upsample_nearest2d", detail: "factor \(factor) must be in 1...64") }
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (oh, ow) = (h * factor, w * factor)
        let out = Tensor(uninitialized: [n, c, oh, ow])
        let x = pointer, o = out.pointer
        Parallel.forRanges(n * c, grain: Kernels.grain(valuesPerItem: oh * ow)) { planes in
            for plane in planes {
                let xp = x + plane * h * w, op = o + plane * oh * ow
                for oy in 0..<oh {
                    let row = xp + (oy / factor) * w, orow = op + oy * ow
                    for ox in 0..<ow { orow[ox] = row[ox / factor] }
                }
            }
        }
        return Autograd.record(out, "upsample_nearest2d", [self]) { [self] gOut in
            let d = gradZeroed()
            Parallel.forRanges(n * c, grain: Kernels.grain(valuesPerItem: oh * ow)) { planes in
                for plane in planes {
                    let dp = d + plane * h * w, gp = gOut.pointer + plane * oh * ow
                    for oy in 0..<oh {
                        let row = dp + (oy / factor) * w, grow = gp + oy * ow
                        for ox in 0..<ow { row[ox / factor] += grow[ox] }
                    }
                }
            }
        }
    }
}
