// SmallGEMM's register tiles, written once for any vector width. Everything here is @inlinable: each
// caller specialises it for its own vector type in its own module, compiled for its own CPU target
// (CarinaTensor: 8 floats, AVX2; CarinaKernelsAVX512: 16 floats, AVX-512), so the same source becomes
// two kernels. Not for: CPU detection or dispatch (SmallGEMM.swift), anything that is not these tiles.

import CIntrinsics

/// Compile-time counts, so that each tile shape is its own specialisation: the guards fold away and the
/// accumulators live in registers (with an Int argument the compiler kept the row tails generic and
/// 2.5x slower).
public protocol TileCount { static var count: Int { get } }
public enum One: TileCount { @inlinable public static var count: Int { 1 } }
public enum Two: TileCount { @inlinable public static var count: Int { 2 } }
public enum Three: TileCount { @inlinable public static var count: Int { 3 } }
public enum Four: TileCount { @inlinable public static var count: Int { 4 } }
public enum Five: TileCount { @inlinable public static var count: Int { 5 } }
public enum Six: TileCount { @inlinable public static var count: Int { 6 } }
public enum Seven: TileCount { @inlinable public static var count: Int { 7 } }
public enum Eight: TileCount { @inlinable public static var count: Int { 8 } }
public enum Nine: TileCount { @inlinable public static var count: Int { 9 } }
public enum Ten: TileCount { @inlinable public static var count: Int { 10 } }
public enum Eleven: TileCount { @inlinable public static var count: Int { 11 } }
public enum Twelve: TileCount { @inlinable public static var count: Int { 12 } }

/// C (m, n) = alpha · op(A) · B, or C += alpha · op(A) · B, op(A)(i, p) = a[i·aRow + p·aColumn], B row-major
/// with leading dimension ldb; see SmallGEMM.multiply. Rows 6 at a time; columns 2 vectors of V, then 1,
/// then one of Half (the last 8 when V holds 16). n must be a multiple of Half's width. `prefetch`: lines
/// to prefetch, a few in each tile, spread over its loop over k.
@inlinable
public func smallGEMMTiles<V: SIMD, Half: SIMD>(_: V.Type, _: Half.Type, m: Int, n: Int, k: Int, alpha: Float,
                                                a: UnsafePointer<Float>, aRow: Int, aColumn: Int,
                                                b: UnsafePointer<Float>, ldb: Int,
                                                c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
                                                prefetch: UnsafeMutablePointer<LinePrefetch>? = nil)
where V.Scalar == Float, Half.Scalar == Float {
    var i = 0
    while i + 6 <= m {
        tileRow(V.self, Half.self, Six.self, a + i * aRow, aRow, aColumn, b, ldb, n, k, c + i * ldc, ldc, alpha, accumulate, prefetch)
        i += 6
    }
    if i < m {
        tileRows(V.self, Half.self, m - i, a + i * aRow, aRow, aColumn, b, ldb, n, k, c + i * ldc, ldc, alpha, accumulate, prefetch)
    }
}

/// `rows` (1...12) rows of C across n columns: tileRow specialised for the count.
@inlinable
func tileRows<V: SIMD, Half: SIMD>(_: V.Type, _: Half.Type, _ rows: Int, _ a: UnsafePointer<Float>, _ aRow: Int, _ aColumn: Int,
                                   _ b: UnsafePointer<Float>, _ ldb: Int, _ n: Int, _ k: Int, _ c: UnsafeMutablePointer<Float>,
                                   _ ldc: Int, _ alpha: Float, _ accumulate: Bool, _ prefetch: UnsafeMutablePointer<LinePrefetch>? = nil)
where V.Scalar == Float, Half.Scalar == Float {
    switch rows {
    case 12: tileRow(V.self, Half.self, Twelve.self, a, aRow, aColumn, b, ldb, n, k, c, ldc, alpha, accumulate, prefetch)
    case 11: tileRow(V.self, Half.self, Eleven.self, a, aRow, aColumn, b, ldb, n, k, c, ldc, alpha, accumulate, prefetch)
    case 10: tileRow(V.self, Half.self, Ten.self, a, aRow, aColumn, b, ldb, n, k, c, ldc, alpha, accumulate, prefetch)
    case 9: tileRow(V.self, Half.self, Nine.self, a, aRow, aColumn, b, ldb, n, k, c, ldc, alpha, accumulate, prefetch)
    case 8: tileRow(V.self, Half.self, Eight.self, a, aRow, aColumn, b, ldb, n, k, c, ldc, alpha, accumulate, prefetch)
    case 7: tileRow(V.self, Half.self, Seven.self, a, aRow, aColumn, b, ldb, n, k, c, ldc, alpha, accumulate, prefetch)
    case 6: tileRow(V.self, Half.self, Six.self, a, aRow, aColumn, b, ldb, n, k, c, ldc, alpha, accumulate, prefetch)
    case 5: tileRow(V.self, Half.self, Five.self, a, aRow, aColumn, b, ldb, n, k, c, ldc, alpha, accumulate, prefetch)
    case 4: tileRow(V.self, Half.self, Four.self, a, aRow, aColumn, b, ldb, n, k, c, ldc, alpha, accumulate, prefetch)
    case 3: tileRow(V.self, Half.self, Three.self, a, aRow, aColumn, b, ldb, n, k, c, ldc, alpha, accumulate, prefetch)
    case 2: tileRow(V.self, Half.self, Two.self, a, aRow, aColumn, b, ldb, n, k, c, ldc, alpha, accumulate, prefetch)
    default: tileRow(V.self, Half.self, One.self, a, aRow, aColumn, b, ldb, n, k, c, ldc, alpha, accumulate, prefetch)
    }
}

/// R.count rows of C across all n columns.
@inlinable
func tileRow<V: SIMD, Half: SIMD, R: TileCount>(_: V.Type, _: Half.Type, _: R.Type, _ a: UnsafePointer<Float>, _ aRow: Int,
                                                _ aColumn: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ n: Int, _ k: Int,
                                                _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ accumulate: Bool,
                                                _ prefetch: UnsafeMutablePointer<LinePrefetch>? = nil)
where V.Scalar == Float, Half.Scalar == Float {
    let w = V.scalarCount
    var j = 0
    // Each tile issues its share of the prefetches spread over its own loop.
    @inline(__always) func lines() -> (first: UnsafeRawPointer?, lines: Int) { prefetch?.pointee.take() ?? (nil, 0) }
    while j + 2 * w <= n {
        let l = lines()
        tile(V.self, R.self, Two.self, a, aRow, aColumn, b + j, ldb, k, c + j, ldc, alpha, accumulate, l.first, l.lines)
        j += 2 * w
    }
    if j + w <= n {
        let l = lines()
        tile(V.self, R.self, One.self, a, aRow, aColumn, b + j, ldb, k, c + j, ldc, alpha, accumulate, l.first, l.lines)
        j += w
    }
    if j < n {
        let l = lines()
        tile(Half.self, R.self, One.self, a, aRow, aColumn, b + j, ldb, k, c + j, ldc, alpha, accumulate, l.first, l.lines)
    }
}

/// One (R.count × W.count vectors) tile of C: k fused multiply-adds per element, in order from zero, then
/// scaled by alpha (and added to C); the prefetches change no value. Up to 12 rows: 24 accumulators fit
/// AVX-512's 32 registers (AVX2's 16 hold 6 rows' 12).
@inlinable @inline(__always)
func tile<V: SIMD, R: TileCount, W: TileCount>(_: V.Type, _: R.Type, _: W.Type, _ a: UnsafePointer<Float>, _ aRow: Int,
                                               _ aColumn: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ k: Int,
                                               _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ accumulate: Bool,
                                               _ ahead: UnsafeRawPointer? = nil, _ aheadLines: Int = 0)
where V.Scalar == Float {
    @inline(__always) func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    let rows = R.count, two = W.count > 1, w = V.scalarCount
    var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
    var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
    var c60 = V(), c61 = V(), c70 = V(), c71 = V(), c80 = V(), c81 = V()
    var c90 = V(), c91 = V(), ca0 = V(), ca1 = V(), cb0 = V(), cb1 = V()
    // One pointer per row of A, each advanced on its own: written as a[i·aRow] off one pointer, the compiler
    // walked the rows by repeated adds, a chain of 7 dependent adds per product (objdump), longer than the 6
    // cycles the AVX2 tile's 12 fused multiply-adds need.
    var p0 = a, p1 = a + aRow, p2 = a + 2 * aRow, p3 = a + 3 * aRow, p4 = a + 4 * aRow, p5 = a + 5 * aRow
    var p6 = a + 6 * aRow, p7 = a + 7 * aRow, p8 = a + 8 * aRow, p9 = a + 9 * aRow, pA = a + 10 * aRow, pB = a + 11 * aRow
    var pb = b
    // `aheadLines` prefetches from `ahead` on, one every `every` steps of k (issued back to back before each
    // tile, they stalled on one another: 8 % of attention's time sat on them, perf), any left after the loop.
    var line = ahead ?? UnsafeRawPointer(b), left = aheadLines
    let every = Swift.max(k / Swift.max(aheadLines, 1), 1)
    var step = 0
    while step < k {
        var end = k
        if left > 0 {
            carina_prefetch(line)
            line += 64
            left -= 1
            end = Swift.min(step + every, k)
        }
        while step < end {
            let b0 = load(pb), b1 = two ? load(pb + w) : V()
            var x = V(repeating: p0.pointee)
            c00 = c00.addingProduct(x, b0); if two { c01 = c01.addingProduct(x, b1) }
            if rows > 1 { x = V(repeating: p1.pointee); c10 = c10.addingProduct(x, b0); if two { c11 = c11.addingProduct(x, b1) } }
            if rows > 2 { x = V(repeating: p2.pointee); c20 = c20.addingProduct(x, b0); if two { c21 = c21.addingProduct(x, b1) } }
            if rows > 3 { x = V(repeating: p3.pointee); c30 = c30.addingProduct(x, b0); if two { c31 = c31.addingProduct(x, b1) } }
            if rows > 4 { x = V(repeating: p4.pointee); c40 = c40.addingProduct(x, b0); if two { c41 = c41.addingProduct(x, b1) } }
            if rows > 5 { x = V(repeating: p5.pointee); c50 = c50.addingProduct(x, b0); if two { c51 = c51.addingProduct(x, b1) } }
            if rows > 6 { x = V(repeating: p6.pointee); c60 = c60.addingProduct(x, b0); if two { c61 = c61.addingProduct(x, b1) } }
            if rows > 7 { x = V(repeating: p7.pointee); c70 = c70.addingProduct(x, b0); if two { c71 = c71.addingProduct(x, b1) } }
            if rows > 8 { x = V(repeating: p8.pointee); c80 = c80.addingProduct(x, b0); if two { c81 = c81.addingProduct(x, b1) } }
            if rows > 9 { x = V(repeating: p9.pointee); c90 = c90.addingProduct(x, b0); if two { c91 = c91.addingProduct(x, b1) } }
            if rows > 10 { x = V(repeating: pA.pointee); ca0 = ca0.addingProduct(x, b0); if two { ca1 = ca1.addingProduct(x, b1) } }
            if rows > 11 { x = V(repeating: pB.pointee); cb0 = cb0.addingProduct(x, b0); if two { cb1 = cb1.addingProduct(x, b1) } }
            p0 += aColumn; p1 += aColumn; p2 += aColumn; p3 += aColumn; p4 += aColumn; p5 += aColumn  // unused rows' fold away
            p6 += aColumn; p7 += aColumn; p8 += aColumn; p9 += aColumn; pA += aColumn; pB += aColumn
            pb += ldb
            step += 1
        }
    }
    while left > 0 {
        carina_prefetch(line)
        line += 64
        left -= 1
    }
    let scale = V(repeating: alpha)
    @inline(__always) func put(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        let out = accumulate ? load(p) + scale * v : scale * v
        UnsafeMutableRawPointer(p).storeBytes(of: out, as: V.self)
    }
    put(c00, c); if two { put(c01, c + w) }
    if rows > 1 { put(c10, c + ldc); if two { put(c11, c + ldc + w) } }
    if rows > 2 { put(c20, c + 2 * ldc); if two { put(c21, c + 2 * ldc + w) } }
    if rows > 3 { put(c30, c + 3 * ldc); if two { put(c31, c + 3 * ldc + w) } }
    if rows > 4 { put(c40, c + 4 * ldc); if two { put(c41, c + 4 * ldc + w) } }
    if rows > 5 { put(c50, c + 5 * ldc); if two { put(c51, c + 5 * ldc + w) } }
    if rows > 6 { put(c60, c + 6 * ldc); if two { put(c61, c + 6 * ldc + w) } }
    if rows > 7 { put(c70, c + 7 * ldc); if two { put(c71, c + 7 * ldc + w) } }
    if rows > 8 { put(c80, c + 8 * ldc); if two { put(c81, c + 8 * ldc + w) } }
    if rows > 9 { put(c90, c + 9 * ldc); if two { put(c91, c + 9 * ldc + w) } }
    if rows > 10 { put(ca0, c + 10 * ldc); if two { put(ca1, c + 10 * ldc + w) } }
    if rows > 11 { put(cb0, c + 11 * ldc); if two { put(cb1, c + 11 * ldc + w) } }
}
