// RGB to one luma channel at the image's own bit depth, as shards store images (8-bit stays 8, 16 stays 16).
// Not for: the Float tensor models read (ImageTensor) or any resampling (Resize).

extension Image {
    /// The image with one channel: gray images unchanged, RGB reduced to ITU-R BT.601 luma
    /// 0.299 R + 0.587 G + 0.114 B, rounded half up in exact integer arithmetic (so it is reproducible).
    public func grayscale() -> Image {
        guard channels == 3 else { return self }
        let n = width * height
        func luma<S: FixedWidthInteger & UnsignedInteger>(_ samples: [S]) -> [S] {
            [S](unsafeUninitializedCapacity: n) { out, written in
                samples.withUnsafeBufferPointer { rgb in
                    let p = rgb.baseAddress!, o = out.baseAddress!
                    for i in 0..<n {  // (H*W, 3) -> (H*W); 1000 * 65535 fits in UInt32
                        let sum = 299 * UInt32(p[3 * i]) + 587 * UInt32(p[3 * i + 1]) + 114 * UInt32(p[3 * i + 2])
                        o[i] = S((sum + 500) / 1000)
                    }
                }
                written = n
            }
        }
        let pixels: Pixels
        switch self.pixels {
        case let .uint8(samples): pixels = .uint8(luma(samples))
        case let .uint16(samples): pixels = .uint16(luma(samples))
        }
        // The layout is valid by construction (same size, one channel, n samples).
        return Image(checkedWidth: width, height: height, channels: 1, pixels: pixels)
    }
}

extension Image {
    /// For pixel transforms (grayscale, resize) whose output layout is valid by construction: no checks.
    init(checkedWidth width: Int, height: Int, channels: Int, pixels: Pixels) {
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }
}
