// Software prefetch of memory a caller will use soon, a few lines in each register tile of a product,
// spread over the tile's loop, so that the lines' wait overlaps the tiles' arithmetic. Attention uses it to
// bring the next sample's rows in while it multiplies this sample's heads: a sequential read before each
// sample (what it did) overlapped nothing, one burst of prefetches per block of rows stalled on the misses
// it had in flight, and a few back to back before each tile still held 8 % of attention's time (perf).
// Not for: anything that changes a value: prefetches only load.
import CIntrinsics

/// Byte ranges to bring into the caches in order, each tile taking the next `perTile` 64-byte lines
/// (`take()`) to issue over its loop.
public struct LinePrefetch {
    @usableFromInline var ranges: [(start: UnsafeRawPointer, end: UnsafeRawPointer)] = []
    @usableFromInline var index = 0
    @usableFromInline var cursor: UnsafeRawPointer?
    @usableFromInline var perTile = 0

    public init() {}

    /// Replaces whatever is left with `ranges`, spread evenly over the next `tiles` calls of `take()`.
    public mutating func start(_ ranges: [(start: UnsafeRawPointer, end: UnsafeRawPointer)], tiles: Int) {
        self.ranges = ranges.filter { $0.start < $0.end }
        index = 0
        cursor = self.ranges.first?.start
        let lines = self.ranges.reduce(0) { $0 + ($1.end - $1.start + 63) / 64 }
        perTile = (lines + max(tiles, 1) - 1) / max(tiles, 1)
    }

    /// Lines not yet taken or issued.
    public var linesLeft: Int {
        guard let at = cursor else { return 0 }
        return (ranges[index].end - at + 63) / 64 + ranges[(index + 1)...].reduce(0) { $0 + ($1.end - $1.start + 63) / 64 }
    }

    /// The next run of up to `perTile` lines inside one range (its first line and how many; a range's last
    /// run may be shorter), taken off what is left without issuing it: the caller issues them.
    @inlinable @inline(__always)
    public mutating func take() -> (first: UnsafeRawPointer?, lines: Int) {
        guard var at = cursor else { return (nil, 0) }
        while at >= ranges[index].end {
            index += 1
            guard index < ranges.count else {
                cursor = nil
                return (nil, 0)
            }
            at = ranges[index].start
        }
        let lines = Swift.min(perTile, (ranges[index].end - at + 63) / 64)
        cursor = at + lines * 64
        return (at, lines)
    }

    /// Issues everything not yet taken.
    public mutating func finish() {
        while case let (first?, lines) = take() {
            for line in 0..<lines { carina_prefetch(first + line * 64) }
        }
    }
}
