// Software prefetch of memory a caller will read soon, a few lines before each register tile of a
// product, so that the lines' wait overlaps the tiles' arithmetic. Attention uses it to bring the next
// sample's rows in while it multiplies this sample's heads: a sequential read before each sample (what it
// did) overlapped nothing, and one burst of prefetches per block of rows stalled on the misses it had in
// flight (perf). Not for: anything that changes a value: prefetches only load.
import CIntrinsics

/// Byte ranges to bring into the caches in order, `issue()` bringing the next `perTile` 64-byte lines.
public struct LinePrefetch {
    @usableFromInline var ranges: [(start: UnsafeRawPointer, end: UnsafeRawPointer)] = []
    @usableFromInline var index = 0
    @usableFromInline var cursor: UnsafeRawPointer?
    @usableFromInline var perTile = 0

    public init() {}

    /// Replaces whatever is left with `ranges`, spread evenly over the next `tiles` calls of `issue()`.
    public mutating func start(_ ranges: [(start: UnsafeRawPointer, end: UnsafeRawPointer)], tiles: Int) {
        self.ranges = ranges.filter { $0.start < $0.end }
        index = 0
        cursor = self.ranges.first?.start
        let lines = self.ranges.reduce(0) { $0 + ($1.end - $1.start + 63) / 64 }
        perTile = (lines + max(tiles, 1) - 1) / max(tiles, 1)
    }

    /// Lines not yet issued.
    public var linesLeft: Int {
        guard let at = cursor else { return 0 }
        return (ranges[index].end - at + 63) / 64 + ranges[(index + 1)...].reduce(0) { $0 + ($1.end - $1.start + 63) / 64 }
    }

    /// The next `perTile` lines (called before each tile).
    @inlinable @inline(__always)
    public mutating func issue() {
        if cursor != nil { issue(lines: perTile) }
    }

    /// The next `lines` lines, or what is left of the ranges.
    @inlinable
    public mutating func issue(lines: Int) {
        var left = lines
        while left > 0, let at = cursor {
            if at >= ranges[index].end {
                index += 1
                cursor = index < ranges.count ? ranges[index].start : nil
                continue
            }
            carina_prefetch(at)
            cursor = at + 64
            left -= 1
        }
    }

    /// Everything not yet issued.
    public mutating func finish() {
        issue(lines: .max)
    }
}
