// Byte shuffling of Float32 data before compression: the n floats' byte 0s, then their byte 1s, 2s and 3s
// as four planes (the HDF5/Blosc "shuffle" filter). Sign and exponent bytes of trained weights repeat a
// lot and compress well once they sit together. Not for: the compression itself (Zstd).

public enum ByteShuffle {
    /// Writes the 4 byte planes of `count` little-endian 4-byte words at `source` to `planes`
    /// (plane b holds byte b of every word, in order). The buffers must not overlap.
    public static func shuffle(_ source: UnsafeRawPointer, count: Int, into planes: UnsafeMutableRawPointer) {
        let s = source.assumingMemoryBound(to: UInt8.self)
        let p0 = planes.assumingMemoryBound(to: UInt8.self), p1 = p0 + count, p2 = p1 + count, p3 = p2 + count
        var i = 0
        while i + 8 <= count {  // 8 words per pass: 32 bytes read, 8 bytes to each plane
            for k in 0..<8 {
                let w = s + 4 * (i + k)
                p0[i + k] = w[0]; p1[i + k] = w[1]; p2[i + k] = w[2]; p3[i + k] = w[3]
            }
            i += 8
        }
        while i < count {
            let w = s + 4 * i
            p0[i] = w[0]; p1[i] = w[1]; p2[i] = w[2]; p3[i] = w[3]
            i += 1
        }
    }

    /// The inverse of `shuffle`: gathers byte b of word i from plane b. The buffers must not overlap.
    public static func unshuffle(_ planes: UnsafeRawPointer, count: Int, into destination: UnsafeMutableRawPointer) {
        let d = destination.assumingMemoryBound(to: UInt8.self)
        let p0 = planes.assumingMemoryBound(to: UInt8.self), p1 = p0 + count, p2 = p1 + count, p3 = p2 + count
        var i = 0
        while i + 8 <= count {
            for k in 0..<8 {
                let w = d + 4 * (i + k)
                w[0] = p0[i + k]; w[1] = p1[i + k]; w[2] = p2[i + k]; w[3] = p3[i + k]
            }
            i += 8
        }
        while i < count {
            let w = d + 4 * i
            w[0] = p0[i]; w[1] = p1[i]; w[2] = p2[i]; w[3] = p3[i]
            i += 1
        }
    }
}
