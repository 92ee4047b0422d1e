// Turns a decoded `Image` into the Float32 grayscale tensor models read: shape (H, W), values in [0, 1].
// Not for: resizing, normalisation with dataset statistics, or augmentation.

import CarinaTensor

extension Image {
    /// The image as a (H, W) tensor in [0, 1]: samples divided by the largest value of the bit depth;
    /// RGB is first reduced to luma with ITU-R BT.601 weights (what libjpeg uses for grayscale).
    public func grayscaleTensor() -> Tensor {
        let tensor = Tensor(uninitialized: [height, width])  // (H, W)
        let out = tensor.pointer
        let n = width * height
        let maxValue = Float(maxSampleValue)
        func fill<S: BinaryInteger>(_ samples: UnsafeBufferPointer<S>) {
            let p = samples.baseAddress!
            if channels == 1 {
                for i in 0..<n { out[i] = Float(p[i]) / maxValue }  // a true division: the nearest Float to k/max
            } else {
                let (r, g, b) = (0.299 / maxValue, 0.587 / maxValue, 0.114 / maxValue)
                for i in 0..<n {  // the weights sum to 1 only up to rounding: clamp
                    out[i] = min(1, r * Float(p[3 * i]) + g * Float(p[3 * i + 1]) + b * Float(p[3 * i + 2]))
                }
            }
        }
        switch pixels {
        case let .uint8(samples): samples.withUnsafeBufferPointer(fill)
        case let .uint16(samples): samples.withUnsafeBufferPointer(fill)
        }
        return tensor
    }
}
