// Fused loss primitives: softmax cross-entropy over class logits with an ignore index, and binary
// cross-entropy on logits with a per-element weight. One pass forward, one pass backward, stable for
// any logit magnitude. The loss modules in CarinaNN build on these.

extension Tensor {
    /// Mean (or summed) cross-entropy of logits (N, V) against integer targets (N); rows whose target
    /// is `ignoreIndex` count for nothing. With no counted rows the loss is 0 (and so is its gradient).
    public func crossEntropy(targets: [Int32], ignoreIndex: Int32 = -100, reduction: Reduction = .mean) throws -> Tensor {
        guard rank == 2 else { throw TensorError.wrongRank(op: "cross_entropy", shape: shape, expected: "logits as (N, classes)") }
        let (n, v) = (shape[0], shape[1])
        guard targets.count == n else {
            throw TensorError.shapeMismatch(op: "cross_entropy", shapes: [shape, [targets.count]], detail: "one target per row")
        }
        for (i, t) in targets.enumerated() where t != ignoreIndex && (t < 0 || Int(t) >= v) {
            throw TensorError.outOfRange(op: "cross_entropy", detail: "target \(t) of row \(i) outside 0..<\(v)")
        }
        let counted = targets.filter { $0 != ignoreIndex }.count
        let denom: Float = reduction == .mean ? Float(Swift.max(counted, 1)) : 1
        let lse = Tensor(uninitialized: [n])
        let x = pointer
        var total = 0.0
        for i in 0..<n {
            let row = x + i * v
            let m = Kernels.maxSerial(row, v)
            let mv = F8(repeating: m)
            var acc = F8()
            var j = 0
            while j + 8 <= v { acc += SIMDMath.expOfNonPositive(load8(row + j) - mv); j += 8 }
            if j < v { acc += SIMDMath.expOfNonPositive(loadPartial(row + j, v - j, pad: -.infinity) - mv) }
            let l = m + ScalarMath.log(SIMDMath.sum(acc))
            lse.pointer[i] = l
            if targets[i] != ignoreIndex { total += Double(l - row[Int(targets[i])]) }
        }
        let out = Tensor(Float(total) / denom)
        return Autograd.record(out, "cross_entropy", [self]) { [self] g in
            let scale = g.item / denom
            let (d, beta) = gradTarget()
            for i in 0..<n {
                let row = x + i * v, dr = d + i * v
                if targets[i] == ignoreIndex {
                    if beta == 0 { dr.update(repeating: 0, count: v) }
                    continue
                }
                let l = F8(repeating: lse.pointer[i]), s = F8(repeating: scale)
                var j = 0
                while j + 8 <= v {
                    let p = SIMDMath.expOfNonPositive(load8(row + j) - l) * s
                    store8(beta == 0 ? p : load8(dr + j) + p, dr + j)
                    j += 8
                }
                while j < v {
                    let p = ScalarMath.exp(row[j] - l[0]) * scale
                    dr[j] = beta == 0 ? p : dr[j] + p
                    j += 1
                }
                dr[Int(targets[i])] -= scale
            }
        }
    }

    /// Binary cross-entropy on logits against targets in [0, 1], each element weighted by `weight`
    /// (broadcastable; 0 excludes an element, e.g. an uncertain label). `.mean` divides by the sum of
    /// weights (by the element count when no weight is given).
    public func binaryCrossEntropyWithLogits(targets y: Tensor, weight: Tensor? = nil, reduction: Reduction = .mean) throws -> Tensor {
        guard y.shape == shape else {
            throw TensorError.shapeMismatch(op: "bce_with_logits", shapes: [shape, y.shape], detail: "targets must match logits")
        }
        let w: Tensor
        if let weight {
            w = try weight.expanded(to: shape).detached()
        } else {
            w = Tensor.ones(shape)
        }
        let x = pointer
        var total = 0.0, wsum = 0.0
        for i in 0..<count {
            let xi = x[i], yi = y.pointer[i], wi = w.pointer[i]
            if wi == 0 { continue }
            // Swift.max(x, 0) - x y + log(1 + exp(-|x|))
            let l = Swift.max(xi, 0) - xi * yi + ScalarMath.log(1 + ScalarMath.exp(-Swift.abs(xi)))
            total += Double(wi * l)
            wsum += Double(wi)
        }
        let denom: Float = reduction == .mean ? Float(weight == nil ? Double(count) : Swift.max(wsum, 1e-12)) : 1
        let out = Tensor(Float(total) / denom)
        return Autograd.record(out, "bce_with_logits", [self]) { [self] g in
            let scale = g.item / denom
            let (d, beta) = gradTarget()
            let temporary = beta == 0 ? nil : Tensor(uninitialized: shape)
            withExtendedLifetime(temporary) {
                let term = temporary?.pointer ?? d
                Kernels.zip3(x, y.pointer, w.pointer, term, count) { xv, yv, wv in
                    (SIMDMath.sigmoid(xv) - yv) * wv * scale
                }
                if beta != 0 { Kernels.add(d, term, d, count) }
            }
        }
    }
}

/// How a loss combines per-element terms.
public enum Reduction: Sendable {
    case mean
    case sum
}
