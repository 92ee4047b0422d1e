// SmallGEMM's tiles in 16-float (AVX-512) vectors: this module alone is compiled for skylake-avx512, and
// CarinaTensor calls into it only after checking the CPU (SmallGEMM.swift); nothing else may call it.
// Same contract and arithmetic as the AVX2 tiles (one ordered fused multiply-add chain per element), so
// the two give identical bits. Not for: anything but these tiles (no dependencies, no CPU detection here:
// any code in this module may use AVX-512 instructions).

typealias F16x = SIMD16<Float>
typealias F8x = SIMD8<Float>

@inline(__always) func load16(_ p: UnsafePointer<Float>) -> F16x { UnsafeRawPointer(p).loadUnaligned(as: F16x.self) }
@inline(__always) func store16(_ v: F16x, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: F16x.self) }
@inline(__always) func load8(_ p: UnsafePointer<Float>) -> F8x { UnsafeRawPointer(p).loadUnaligned(as: F8x.self) }
@inline(__always) func store8(_ v: F8x, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: F8x.self) }

/// Compile-time counts, so that each tile shape is its own specialisation (guards fold away, the
/// accumulators stay in registers). Internal: CarinaTensor has its own (a witness from this module could
/// not be folded there).
protocol TileCount { static var count: Int { get } }
enum One: TileCount { static var count: Int { 1 } }
enum Two: TileCount { static var count: Int { 2 } }
enum Three: TileCount { static var count: Int { 3 } }
enum Four: TileCount { static var count: Int { 4 } }
enum Five: TileCount { static var count: Int { 5 } }
enum Six: TileCount { static var count: Int { 6 } }

/// C (m, n) = alpha · op(A) · B or C += alpha · op(A) · B; see SmallGEMM.multiply. n % 8 == 0.
public func smallGEMMAVX512(m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, aRow: Int, aColumn: Int,
                            b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
    var i = 0
    while i + 6 <= m {
        rowBlock(Six.self, a + i * aRow, aRow, aColumn, b, ldb, n, k, c + i * ldc, ldc, alpha, accumulate)
        i += 6
    }
    let a = a + i * aRow, c = c + i * ldc
    switch m - i {
    case 5: rowBlock(Five.self, a, aRow, aColumn, b, ldb, n, k, c, ldc, alpha, accumulate)
    case 4: rowBlock(Four.self, a, aRow, aColumn, b, ldb, n, k, c, ldc, alpha, accumulate)
    case 3: rowBlock(Three.self, a, aRow, aColumn, b, ldb, n, k, c, ldc, alpha, accumulate)
    case 2: rowBlock(Two.self, a, aRow, aColumn, b, ldb, n, k, c, ldc, alpha, accumulate)
    case 1: rowBlock(One.self, a, aRow, aColumn, b, ldb, n, k, c, ldc, alpha, accumulate)
    default: break
    }
}

/// R.count rows of C across all n columns: 32, then 16, then 8 at a time.
func rowBlock<R: TileCount>(_: R.Type, _ a: UnsafePointer<Float>, _ aRow: Int, _ aColumn: Int,
                            _ b: UnsafePointer<Float>, _ ldb: Int, _ n: Int, _ k: Int,
                            _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ accumulate: Bool) {
    var j = 0
    while j + 32 <= n {
        tile16(R.self, Two.self, a, aRow, aColumn, b + j, ldb, k, c + j, ldc, alpha, accumulate)
        j += 32
    }
    if j + 16 <= n {
        tile16(R.self, One.self, a, aRow, aColumn, b + j, ldb, k, c + j, ldc, alpha, accumulate)
        j += 16
    }
    if j < n { tile8(R.self, a, aRow, aColumn, b + j, ldb, k, c + j, ldc, alpha, accumulate) }
}

/// One (R.count × 16·V.count) tile of C.
@inline(__always)
func tile16<R: TileCount, V: TileCount>(_: R.Type, _: V.Type, _ a: UnsafePointer<Float>, _ aRow: Int, _ aColumn: Int,
                                       _ b: UnsafePointer<Float>, _ ldb: Int, _ k: Int,
                                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ accumulate: Bool) {
    let rows = R.count, two = V.count > 1
    var c00 = F16x(), c01 = F16x(), c10 = F16x(), c11 = F16x(), c20 = F16x(), c21 = F16x()
    var c30 = F16x(), c31 = F16x(), c40 = F16x(), c41 = F16x(), c50 = F16x(), c51 = F16x()
    var pa = a, pb = b
    for _ in 0..<k {
        let b0 = load16(pb), b1 = two ? load16(pb + 16) : F16x()
        var x = F16x(repeating: pa[0])
        c00 = c00.addingProduct(x, b0); if two { c01 = c01.addingProduct(x, b1) }
        if rows > 1 { x = F16x(repeating: pa[aRow]); c10 = c10.addingProduct(x, b0); if two { c11 = c11.addingProduct(x, b1) } }
        if rows > 2 { x = F16x(repeating: pa[2 * aRow]); c20 = c20.addingProduct(x, b0); if two { c21 = c21.addingProduct(x, b1) } }
        if rows > 3 { x = F16x(repeating: pa[3 * aRow]); c30 = c30.addingProduct(x, b0); if two { c31 = c31.addingProduct(x, b1) } }
        if rows > 4 { x = F16x(repeating: pa[4 * aRow]); c40 = c40.addingProduct(x, b0); if two { c41 = c41.addingProduct(x, b1) } }
        if rows > 5 { x = F16x(repeating: pa[5 * aRow]); c50 = c50.addingProduct(x, b0); if two { c51 = c51.addingProduct(x, b1) } }
        pa += aColumn
        pb += ldb
    }
    let scale = F16x(repeating: alpha)
    @inline(__always) func put(_ v: F16x, _ p: UnsafeMutablePointer<Float>) {
        store16(accumulate ? load16(p) + scale * v : scale * v, p)
    }
    put(c00, c); if two { put(c01, c + 16) }
    if rows > 1 { put(c10, c + ldc); if two { put(c11, c + ldc + 16) } }
    if rows > 2 { put(c20, c + 2 * ldc); if two { put(c21, c + 2 * ldc + 16) } }
    if rows > 3 { put(c30, c + 3 * ldc); if two { put(c31, c + 3 * ldc + 16) } }
    if rows > 4 { put(c40, c + 4 * ldc); if two { put(c41, c + 4 * ldc + 16) } }
    if rows > 5 { put(c50, c + 5 * ldc); if two { put(c51, c + 5 * ldc + 16) } }
}

/// One (R.count × 8) tile of C: the last 8 columns of a row whose length is 8 mod 16.
@inline(__always)
func tile8<R: TileCount>(_: R.Type, _ a: UnsafePointer<Float>, _ aRow: Int, _ aColumn: Int,
                         _ b: UnsafePointer<Float>, _ ldb: Int, _ k: Int,
                         _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ accumulate: Bool) {
    let rows = R.count
    var c0 = F8x(), c1 = F8x(), c2 = F8x(), c3 = F8x(), c4 = F8x(), c5 = F8x()
    var pa = a, pb = b
    for _ in 0..<k {
        let b0 = load8(pb)
        c0 = c0.addingProduct(F8x(repeating: pa[0]), b0)
        if rows > 1 { c1 = c1.addingProduct(F8x(repeating: pa[aRow]), b0) }
        if rows > 2 { c2 = c2.addingProduct(F8x(repeating: pa[2 * aRow]), b0) }
        if rows > 3 { c3 = c3.addingProduct(F8x(repeating: pa[3 * aRow]), b0) }
        if rows > 4 { c4 = c4.addingProduct(F8x(repeating: pa[4 * aRow]), b0) }
        if rows > 5 { c5 = c5.addingProduct(F8x(repeating: pa[5 * aRow]), b0) }
        pa += aColumn
        pb += ldb
    }
    let scale = F8x(repeating: alpha)
    @inline(__always) func put(_ v: F8x, _ p: UnsafeMutablePointer<Float>) {
        store8(accumulate ? load8(p) + scale * v : scale * v, p)
    }
    put(c0, c)
    if rows > 1 { put(c1, c + ldc) }
    if rows > 2 { put(c2, c + 2 * ldc) }
    if rows > 3 { put(c3, c + 3 * ldc) }
    if rows > 4 { put(c4, c + 4 * ldc) }
    if rows > 5 { put(c5, c + 5 * ldc) }
}
