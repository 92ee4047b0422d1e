// Carina's blocked SGEMM for large products (linear layers, convolutions), written once for any vector
// width like SmallGEMM's tiles and specialised the same way (8 floats in CarinaTensor, 16 in
// CarinaKernelsAVX512). The loop nest is the usual one for a cache hierarchy (Goto/BLIS): a block of B
// (KC × NC) is packed into panels of 2 vectors' width and the Panel × 2-vector tile of tileRow runs over it
// (the caller picks Panel: up to 12 rows fit AVX-512's 32 registers, 6 AVX2's 16), B's panel in L1 and A's
// block of rows (MC × KC) in L2: A as stored read in place, a transposed A packed into panels of Panel rows.
// On the ViT-Tiny shapes this runs 1.2-1.6x OpenBLAS's pinned Haswell kernels and 0.9-0.95x its own AVX-512
// ones (`carina bench ops`, 2026-12-03); the square 1536³ peak is lower (about 0.65x OpenBLAS AVX-512), C
// being revisited once per block of 256 products.
// Not for: choosing when to use it (BLAS.swift), attention's per-head products (SmallGEMM, in place).

/// Depth of one packed block: each element's sum runs in blocks of this many products.
public let packedDepth = 256
/// Rows of A packed at once (a multiple of 6 and 12).
public let packedRows = 192
/// Columns of B packed at once (a multiple of 32).
public let packedColumns = 1024

/// Floats of scratch `packedGEMM` needs: the packed blocks and one tile of output for a last panel whose
/// width is not a multiple of 8.
public let packedScratchCount = packedDepth * packedColumns + packedRows * packedDepth + 12 * 32

/// C (m, n) = alpha · op(A) · op(B) + beta · C, row-major, op(X) = X or Xᵀ (A is (m, k) or, transposed,
/// (k, m) with leading dimension lda; likewise B (k, n) or (n, k)).
///
/// Arithmetic (the same for every vector width, block of rows or columns, and thread split): C is first
/// set to 0 (beta = 0), left (beta = 1) or multiplied by beta; then for each block of `packedDepth`
/// products p = p0..<p0+256 in order, s = one fused multiply-add chain from zero over the block, and
/// C = C + alpha · s (the first block with beta = 0: C = alpha · s).
/// `scratch` holds `packedScratchCount` floats.
@inlinable
public func packedGEMM<V: SIMD, Half: SIMD, Panel: TileCount>(_: V.Type, _: Half.Type, _: Panel.Type, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                                            alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                                            scratch: UnsafeMutablePointer<Float>)
where V.Scalar == Float, Half.Scalar == Float {
    if m == 0 || n == 0 || k == 0 { return }
    if beta != 0 && beta != 1 {
        for i in 0..<m {
            let row = c + i * ldc
            for j in 0..<n { row[j] *= beta }
        }
    }
    let panelWidth = 2 * V.scalarCount, panel = Panel.count
    let packedB = scratch, packedA = scratch + packedDepth * packedColumns, spill = packedA + packedRows * packedDepth
    var jc = 0
    while jc < n {
        let nc = min(packedColumns, n - jc)
        var pc = 0
        while pc < k {
            let kc = min(packedDepth, k - pc)
            let accumulate = pc > 0 || beta != 0
            packB(transB, b, ldb, row: pc, column: jc, depth: kc, width: nc, panelWidth: panelWidth, into: packedB)
            var ic = 0
            while ic < m {
                let mc = min(packedRows, m - ic)
                // A as stored is read in place (6 rows streamed side by side); a transposed A is packed, since in
                // place each product would touch a new cache line for 6 of its floats.
                if transA { packTransposedA(V.self, a, lda, row: ic, column: pc, rows: mc, depth: kc, panel: panel, into: packedA) }
                let (aRow, aColumn) = transA ? (1, panel) : (lda, 1)
                var jr = 0
                while jr < nc {
                    let w = min(panelWidth, nc - jr), wp = (w + 7) / 8 * 8  // packed zero-padded to wp
                    let panelB = packedB + jr * kc
                    var ir = 0
                    while ir < mc {
                        let rows = min(panel, mc - ir)
                        let panelA = transA ? UnsafePointer(packedA + ir * kc) : a + (ic + ir) * lda + pc
                        var out = c + (ic + ir) * ldc + jc + jr, ldo = ldc
                        if w != wp {  // a ragged last panel: its tile goes through `spill`
                            for i in 0..<rows {
                                for j in 0..<wp { spill[i * wp + j] = j < w && accumulate ? out[i * ldc + j] : 0 }
                            }
                            out = spill
                            ldo = wp
                        }
                        tileRows(V.self, Half.self, rows, panelA, aRow, aColumn, panelB, wp, wp, kc, out, ldo, alpha, accumulate)
                        if w != wp {
                            let target = c + (ic + ir) * ldc + jc + jr
                            for i in 0..<rows {
                                for j in 0..<w { target[i * ldc + j] = spill[i * wp + j] }
                            }
                        }
                        ir += panel
                    }
                    jr += panelWidth
                }
                ic += mc
            }
            pc += kc
        }
        jc += nc
    }
}

/// Packs op(A)[row..<row+rows, column..<column+depth] of a transposed A (op(A)(i, p) = a[p·lda + i]) as
/// panels of `panel` rows: panel r holds element (i, p) at r·panel·depth + p·panel + i (a last, shorter panel
/// keeps the stride). Each source row is read once, in order (a strip per panel would fetch the block from L3
/// once per panel). A panel no wider than a vector (6 rows in 8 lanes, 12 in 16) moves as one load and one
/// store: the lanes past the panel land in the next product's slot, which the next pass of `p` overwrites
/// (the last product, the last panel and a shorter one are copied exactly); before, a float at a time.
@inlinable
func packTransposedA<V: SIMD>(_: V.Type, _ a: UnsafePointer<Float>, _ lda: Int, row: Int, column: Int, rows: Int, depth: Int,
                              panel: Int, into out: UnsafeMutablePointer<Float>) where V.Scalar == Float {
    let wide = panel <= V.scalarCount
    for p in 0..<depth {
        let source = a + (column + p) * lda + row
        let spills = wide && p + 1 < depth
        var r = 0
        while r < rows {
            let count = spills && r + V.scalarCount <= rows ? V.scalarCount : min(panel, rows - r)
            copyFloats(out + r * depth + p * panel, source + r, count)
            r += panel
        }
    }
}

/// `count` floats from `source` to `destination`, inline (memmove's call costs more than these short copies).
@inlinable @inline(__always)
func copyFloats(_ destination: UnsafeMutablePointer<Float>, _ source: UnsafePointer<Float>, _ count: Int) {
    var i = 0
    while i + 8 <= count {
        UnsafeMutableRawPointer(destination + i).storeBytes(of: UnsafeRawPointer(source + i).loadUnaligned(as: SIMD8<Float>.self),
                                                            as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        destination[i] = source[i]
        i += 1
    }
}

/// Packs op(B)[row..<row+depth, column..<column+width] as panels of `panelWidth` columns: the panel starting
/// at column j holds element (p, j + q) at j·depth + p·wp + q, wp its width rounded up to a multiple of 8
/// (the last panel may be narrower; columns past the matrix are zero). As stored, each source row is read
/// once, in order.
@inlinable
func packB(_ transposed: Bool, _ b: UnsafePointer<Float>, _ ldb: Int, row: Int, column: Int, depth: Int, width: Int,
           panelWidth: Int, into out: UnsafeMutablePointer<Float>) {
    if !transposed {
        for p in 0..<depth {
            let source = b + (row + p) * ldb + column
            var j = 0
            while j < width {
                let w = min(panelWidth, width - j), wp = (w + 7) / 8 * 8, target = out + j * depth + p * wp
                copyFloats(target, source + j, w)
                if wp != w { (target + w).update(repeating: 0, count: wp - w) }
                j += panelWidth
            }
        }
        return
    }
    var j = 0
    while j < width {  // op(B)(p, q) = b[q·ldb + p]
        let w = min(panelWidth, width - j), wp = (w + 7) / 8 * 8, panel = out + j * depth
        for q in 0..<w {
            let source = b + (column + j + q) * ldb + row
            for p in 0..<depth { panel[p * wp + q] = source[p] }
        }
        if wp != w {
            for p in 0..<depth { (panel + p * wp + w).update(repeating: 0, count: wp - w) }
        }
        j += panelWidth
    }
}
