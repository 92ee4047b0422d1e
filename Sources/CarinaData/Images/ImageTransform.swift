// From a stored image to a network input: grayscale in [0, 1], train-time augmentation as the papers use
// it (random resized crop, small rotation and translation, brightness and contrast jitter) in one bilinear
// warp — all of them in a fixed order, or k of them drawn without replacement and applied in random order
// (PsPG: 2 of 4) — then an optional horizontal flip, then normalisation. Every random draw comes from
// RNG(seed, purpose, epoch, sample index), so a sample is augmented identically on any rank.
// Not for: decoding (Image) or batching (BatchLoader).
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
    /// Mirror left-right with this probability, after everything else (0 = never; PsPG and PRIOR use 0.5 —
    /// note that reports name sides, PRIOR pitfall R8).
    public var horizontalFlip: Float = 0
    /// 0: every augmentation above, in the fixed order crop, rotation, translation, intensity. k > 0: k of
    /// those four drawn without replacement and applied in random order (PsPG draws 2 of {crop, rotation,
    /// colour jitter, affine}); the intensity jitter is applied after the warp either way.
    public var choose = 0

    /// The four augmentations `choose` draws from.
    public enum Augmentation: Int, CaseIterable, Sendable { case crop, rotation, translation, intensity }

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
        if train && choose > 0 {
            applyChosen(gray, w, h, seed: seed, epoch: epoch, sampleIndex: sampleIndex, into: out)
            return
        }
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
        finish(out, sum: sum, jitter: train ? (gain, contrastFactor) : nil, seed: seed, epoch: epoch, sampleIndex: sampleIndex)
    }

    /// Intensity jitter (around the image's mean), the flip and the normalisation, in place.
    private func finish(_ out: UnsafeMutablePointer<Float>, sum: Float, jitter: (gain: Float, contrast: Float)?, seed: UInt64, epoch: Int,
                        sampleIndex: Int) {
        let n = size * size
        let imageMean = sum / Float(n)
        let scale = 1 / std
        for i in 0..<n {
            var v = out[i]
            if let jitter { v = ((v - imageMean) * jitter.contrast + imageMean) * jitter.gain }
            out[i] = (v - mean) * scale
        }
        guard train && horizontalFlip > 0 else { return }
        var rng = RNG(seed: seed, "flip", epoch, sampleIndex)
        guard rng.uniform() < horizontalFlip else { return }
        for v in 0..<size {
            let row = out + v * size
            for u in 0..<(size / 2) { (row[u], row[size - 1 - u]) = (row[size - 1 - u], row[u]) }
        }
    }

    /// An affine map of continuous coordinates (output -> input): x' = a·x + b·y + c, y' = d·x + e·y + f.
    struct Affine {
        var a: Float = 1, b: Float = 0, c: Float = 0, d: Float = 0, e: Float = 1, f: Float = 0
        func callAsFunction(_ x: Float, _ y: Float) -> (Float, Float) { (a * x + b * y + c, d * x + e * y + f) }
        /// self after `inner`: x -> self(inner(x)).
        func after(_ inner: Affine) -> Affine {
            Affine(a: a * inner.a + b * inner.d, b: a * inner.b + b * inner.e, c: a * inner.c + b * inner.f + c,
                   d: d * inner.a + e * inner.d, e: d * inner.b + e * inner.e, f: d * inner.c + e * inner.f + f)
        }
    }

    /// k of the four augmentations in random order. The geometric ones act in the output's frame (the image
    /// resized to size × size), composed into one map from output pixel to source pixel, sampled once.
    private func applyChosen(_ gray: [Float], _ w: Int, _ h: Int, seed: UInt64, epoch: Int, sampleIndex: Int,
                             into out: UnsafeMutablePointer<Float>) {
        var pick = RNG(seed: seed, "augment-choice", epoch, sampleIndex)
        let chosen = pick.permutation(Augmentation.allCases.count).prefix(Swift.min(choose, Augmentation.allCases.count)).map { Augmentation(rawValue: $0)! }
        var rng = RNG(seed: seed, "augment", epoch, sampleIndex)
        let s = Float(size), half = Float(size) / 2
        // Applied in order o1, o2, ...: an output point goes back through the last one first.
        var map = Affine()
        var jitter: (gain: Float, contrast: Float)? = nil
        for op in chosen {
            var m = Affine()
            switch op {
            case .crop:
                let area = rng.uniform(cropScaleMin, 1)
                let ratio = Foundation.exp(rng.uniform(Foundation.log(Float(3) / 4), Foundation.log(Float(4) / 3)))
                let bw = Swift.min(s, (area * ratio).squareRoot() * s), bh = Swift.min(s, (area / ratio).squareRoot() * s)
                let bx = rng.uniform(0, s - bw), by = rng.uniform(0, s - bh)
                m = Affine(a: bw / s, c: bx, e: bh / s, f: by)
            case .rotation:
                let angle = rng.uniform(-rotationDegrees, rotationDegrees) * .pi / 180
                let (c, sn) = (Foundation.cos(angle), Foundation.sin(angle))
                m = Affine(a: c, b: sn, c: half - c * half - sn * half, d: -sn, e: c, f: half + sn * half - c * half)
            case .translation:
                m = Affine(c: -rng.uniform(-translate, translate) * s, f: -rng.uniform(-translate, translate) * s)
            case .intensity:
                jitter = (rng.uniform(1 - brightness, 1 + brightness), rng.uniform(1 - contrast, 1 + contrast))
            }
            map = map.after(m)
        }
        // Output frame -> source pixels (centres at integers).
        let toSource = Affine(a: Float(w) / s, c: -0.5, e: Float(h) / s, f: -0.5).after(map)
        var sum: Float = 0
        gray.withUnsafeBufferPointer { src in
            for v in 0..<size {
                for u in 0..<size {
                    let (sx, sy) = toSource(Float(u) + 0.5, Float(v) + 0.5)
                    let value = ImageTransform.bilinear(src, w, h, sx, sy)
                    out[v * size + u] = value
                    sum += value
                }
            }
        }
        finish(out, sum: sum, jitter: jitter, seed: seed, epoch: epoch, sampleIndex: sampleIndex)
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
