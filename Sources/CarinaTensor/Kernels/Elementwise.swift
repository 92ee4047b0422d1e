// Elementwise kernels over raw Float32 buffers: 8-wide SIMD bodies, padded SIMD tails, split across
// threads for large inputs. Every function writes `n` outputs and may alias output with an input.
// Not for: broadcasting (Broadcast.swift) or autograd (Ops/).

public enum Kernels {
    /// Below this many elements a loop stays on one thread.
    public static let parallelGrain = 1 << 15

    /// The grain for a loop over items (planes, channels, samples) of `valuesPerItem` values each: at least
    /// `parallelGrain` values a thread's share.
    static func grain(valuesPerItem: Int) -> Int { Swift.max(1, parallelGrain / Swift.max(valuesPerItem, 1)) }

    /// y[i] = f(x[i]) with `f` on 8 lanes.
    @inline(__always)
    public static func map(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, _ f: (F8) -> F8) {
        Parallel.forRanges(n, grain: parallelGrain) { r in
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                store8(f(load8(x + i)), y + i)
                i += 8
            }
            if i < r.upperBound {
                storePartial(f(loadPartial(x + i, r.upperBound - i)), y + i, r.upperBound - i)
            }
        }
    }

    /// z[i] = f(x[i], y[i]).
    @inline(__always)
    public static func zip(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>, _ n: Int, _ f: (F8, F8) -> F8) {
        Parallel.forRanges(n, grain: parallelGrain) { r in
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                store8(f(load8(x + i), load8(y + i)), z + i)
                i += 8
            }
            if i < r.upperBound {
                let m = r.upperBound - i
                storePartial(f(loadPartial(x + i, m), loadPartial(y + i, m, pad: 1)), z + i, m)
            }
        }
    }

    /// w[i] = f(x[i], y[i], z[i]).
    @inline(__always)
    public static func zip3(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafePointer<Float>,
                            _ w: UnsafeMutablePointer<Float>, _ n: Int, _ f: (F8, F8, F8) -> F8) {
        Parallel.forRanges(n, grain: parallelGrain) { r in
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                store8(f(load8(x + i), load8(y + i), load8(z + i)), w + i)
                i += 8
            }
            if i < r.upperBound {
                let m = r.upperBound - i
                storePartial(f(loadPartial(x + i, m), loadPartial(y + i, m, pad: 1), loadPartial(z + i, m, pad: 1)), w + i, m)
            }
        }
    }

    public static func add(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>, _ n: Int) {
        zip(x, y, z, n) { $0 + $1 }
    }

    /// y = beta * y + x  (beta 0 overwrites, ignoring what y held, NaN included). The copy is split across
    /// threads like the sum (a residual add's backward copies its gradient into both operands: on one thread
    /// that took 10-16 ms of a clip-tiny step at 1 x 2, split 8.5-9.7; three alternated `--profile` runs).
    public static func accumulate(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, _ n: Int, beta: Float) {
        if beta == 0 {
            Parallel.forRanges(n, grain: parallelGrain) { r in (y + r.lowerBound).update(from: x + r.lowerBound, count: r.count) }
        } else {
            zip(x, y, y, n) { $0 + $1 }
        }
    }

    /// y = beta * y + alpha * x.
    public static func axpby(_ alpha: Float, _ x: UnsafePointer<Float>, _ beta: Float, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        if beta == 0 {
            map(x, y, n) { $0 * alpha }
        } else {
            zip(x, y, y, n) { alpha * $0 + beta * $1 }
        }
    }

    public static func scale(_ x: UnsafePointer<Float>, _ alpha: Float, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        map(x, y, n) { $0 * alpha }
    }

    /// Sum of x in Float with 8 partial sums per thread chunk (deterministic for a fixed thread count
    /// and n; reductions that must not depend on threads use `sumSerial`).
    public static func sumSerial(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc0 = F8(), acc1 = F8()
        var i = 0
        while i + 16 <= n {
            acc0 += load8(x + i)
            acc1 += load8(x + i + 8)
            i += 16
        }
        if i + 8 <= n {
            acc0 += load8(x + i)
            i += 8
        }
        if i < n { acc1 += loadPartial(x + i, n - i) }
        return SIMDMath.sum(acc0 + acc1)
    }

    /// Dot product of two vectors (serial, 2x8 accumulators).
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc0 = F8(), acc1 = F8()
        var i = 0
        while i + 16 <= n {
            acc0 = acc0.addingProduct(load8(x + i), load8(y + i))
            acc1 = acc1.addingProduct(load8(x + i + 8), load8(y + i + 8))
            i += 16
        }
        if i + 8 <= n {
            acc0 = acc0.addingProduct(load8(x + i), load8(y + i))
            i += 8
        }
        if i < n { acc1 = acc1.addingProduct(loadPartial(x + i, n - i), loadPartial(y + i, n - i)) }
        return SIMDMath.sum(acc0 + acc1)
    }

    /// Maximum of x (n >= 1).
    public static func maxSerial(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = F8(repeating: -.infinity)
        var i = 0
        while i + 8 <= n {
            acc = SIMDMath.maximum(acc, load8(x + i))
            i += 8
        }
        if i < n { acc = SIMDMath.maximum(acc, loadPartial(x + i, n - i, pad: -.infinity)) }
        return SIMDMath.max(acc)
    }

    /// Sum of squares accumulated in Double (for gradient norms: order-independent enough and no
    /// overflow for large models).
    public static func sumOfSquares(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
        var total = 0.0
        var i = 0
        while i < n {
            let m = min(4096, n - i)
            total += Double(dot(x + i, x + i, m))
            i += m
        }
        return total
    }
}
