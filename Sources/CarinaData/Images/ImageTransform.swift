// From a stored image to a network input: grayscale in [0, 1], train-time augmentation as the papers use
// it (random resized crop, small rotation and translation, brightness and contrast jitter) in one bilinear
// warp, then normalisation. Every random draw comes from RNG(seed, "augment", epoch, sample index), so a
// sample is augmented identically on any rank. Not for: decoding (Image) or batching (BatchLoader).
import CarinaTensor
import Foundation

public struct ImageTransform: Sendable, Equatable {
    /// Output is (1, size, size).
    public var size: Int
    /// Augment (training) or only resize (evaluation).
    public var train: Bool
    /// Random resized crop: area fraction from cropScaleMin to 1, aspect ratio 3/4 to 4/3.
    public var cropScaleMin: Float = 0.8
    public var rotationDegrees: Float = 5
    /// Translation as a fraction of the size, each axis.
    public var translate: Float = 0.05
    /// Brightness and contrast factors drawn from 1 ± these.
    public var brightness: Float = 0.1
    public var contrast: Float = 0.1
    public var mean: Float = 0.5
    public var std: Float = 0.25

    public init(size: Int, train: Bool) {
        self.size = size
        self.train = train
    }

    /// Writes the transformed image (size × size floats, row-major) to `out`.
    public func apply(_ image: Image, seed: UInt64, epoch: Int, sampleIndex: Int, into out: UnsafeMutablePointer<Float>) {
        let (w, h) = (image.width, image.height)
        let gray = ImageTransform.grayscale(image)  // (h, w) in [0, 1]
        let s = Float(size)
        // The source box the output covers, and rotation/translation about the output's centre.
        var (bx, by, bw, bh) = (Float(0), Float(0), Float(w), Float(h))
        var (angle, tx, ty, gain, contrastFactor) = (Float(0), Float(0), Float(0), Float(1), Float(1))
        if train {
            var rng = RNG(seed: seed, "augment", epoch, sampleIndex)
            let area = rng.uniform(cropScaleMin, 1)
            let logRatio = rng.uniform(Foundation.log(Float(3) / 4), Foundation.log(Float(4) / 3))
            let ratio = Foundation.exp(logRatio)
            bw = min(Float(w), (area * ratio).squareRoot() * Float(w))
            bh = min(Float(h), (area / ratio).squareRoot() * Float(h))
            bx = rng.uniform(0, Float(w) - bw)
            by = rng.uniform(0, Float(h) - bh)
            angle = rng.uniform(-rotationDegrees, rotationDegrees) * .pi / 180
            tx = rng.uniform(-translate, translate) * s
            ty = rng.uniform(-translate, translate) * s
            gain = rng.uniform(1 - brightness, 1 + brightness)
            contrastFactor = rng.uniform(1 - contrast, 1 + contrast)
        }
        let (c, sn) = (Foundation.cos(angle), Foundation.sin(angle))
        let half = s / 2
        let scaleX = bw / s, scaleY = bh / s
        var sum: Float = 0
        gray.withUnsafeBufferPointer { src in
            for v in 0..<size {
                for u in 0..<size {
                    // Output pixel centre -> undo translation and rotation -> crop box -> source pixel.
                    let px = Float(u) + 0.5 - half - tx, py = Float(v) + 0.5 - half - ty
                    let rx = c * px + sn * py + half, ry = -sn * px + c * py + half
                    let sx = bx + rx * scaleX - 0.5, sy = by + ry * scaleY - 0.5
                    let value = ImageTransform.bilinear(src, w, h, sx, sy)
                    out[v * size + u] = value
                    sum += value
                }
            }
        }
        let n = size * size
        let imageMean = sum / Float(n)
        let scale = 1 / std
        for i in 0..<n {
            var v = out[i]
            if train { v = ((v - imageMean) * contrastFactor + imageMean) * gain }
            out[i] = (v - mean) * scale
        }
    }

    /// Luma (RGB: 0.299 R + 0.587 G + 0.114 B) in [0, 1].
    static func grayscale(_ image: Image) -> [Float] {
        let n = image.width * image.height, ch = image.channels
        let maxValue = Float(image.maxSampleValue)
        var out = [Float](repeating: 0, count: n)
        func sample(_ i: Int) -> Float {
            switch image.pixels {
            case let .uint8(p): return Float(p[i])
            case let .uint16(p): return Float(p[i])
            }
        }
        for i in 0..<n {
            out[i] = ch == 1 ? sample(i) / maxValue
                : (0.299 * sample(i * ch) + 0.587 * sample(i * ch + 1) + 0.114 * sample(i * ch + 2)) / maxValue
        }
        return out
    }

    /// Bilinear sample at (x, y) in pixel coordinates (pixel centres at integers); 0 outside the image.
    @inline(__always)
    static func bilinear(_ p: UnsafeBufferPointer<Float>, _ w: Int, _ h: Int, _ x: Float, _ y: Float) -> Float {
        let x0 = Int(x.rounded(.down)), y0 = Int(y.rounded(.down))
        let fx = x - Float(x0), fy = y - Float(y0)
        @inline(__always) func at(_ i: Int, _ j: Int) -> Float {
            i >= 0 && i < w && j >= 0 && j < h ? p[j * w + i] : 0
        }
        let top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx
        let bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx
        return top * (1 - fy) + bottom * fy
    }
}
