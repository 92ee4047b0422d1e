// Resizing an `Image` to a new width and height at its own bit depth: area averaging along an axis that
// shrinks, bilinear interpolation along one that grows. Not for: cropping or augmentation (which may reuse it).

/// How prepared shards size their images: the shorter side to `n` keeping the aspect ratio, or exactly
/// n x n (aspect ratio not kept; chest radiographs are close to square). Stored in dataset.json.
public enum ImageResize: Sendable, Equatable, Codable, CustomStringConvertible {
    case shortSide(Int)
    case square(Int)

    /// The output size for an input of `width` x `height`.
    public func size(width: Int, height: Int) -> (width: Int, height: Int) {
        switch self {
        case let .square(n):
            return (n, n)
        case let .shortSide(n):
            if width <= height {
                return (n, max(1, Int((Double(height) * Double(n) / Double(width)).rounded())))
            }
            return (max(1, Int((Double(width) * Double(n) / Double(height)).rounded())), n)
        }
    }

    public var description: String {
        switch self {
        case let .shortSide(n): return "short-side \(n)"
        case let .square(n): return "square \(n)"
        }
    }

    private enum CodingKeys: String, CodingKey { case policy, size }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let size = try c.decode(Int.self, forKey: .size)
        switch try c.decode(String.self, forKey: .policy) {
        case "short-side": self = .shortSide(size)
        case "square": self = .square(size)
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .policy, in: c,
                                                   debugDescription: "unknown resize policy '\(other)' (short-side or square)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case let .shortSide(n): try c.encode("short-side", forKey: .policy); try c.encode(n, forKey: .size)
        case let .square(n): try c.encode("square", forKey: .policy); try c.encode(n, forKey: .size)
        }
    }
}

extension Image {
    /// The image resized by `policy`; unchanged when already that size.
    public func resized(_ policy: ImageResize) throws -> Image {
        let size = policy.size(width: width, height: height)
        return try resized(width: size.width, height: size.height)
    }

    /// The image resampled to `width` x `height`, same channels and bit depth. Each axis separately:
    /// shrinking averages the source pixels each output pixel covers, weighted by overlap (area / box
    /// filter, no aliasing); growing interpolates bilinearly between pixel centres (half-pixel aligned).
    /// Results are rounded to the nearest sample value, so the output is reproducible bit for bit.
    public func resized(width newWidth: Int, height newHeight: Int) throws -> Image {
        guard newWidth > 0 && newHeight > 0 else {
            throw DataError.badImage(source: "in memory", problem: "cannot resize to \(newWidth)x\(newHeight)")
        }
        if newWidth == width && newHeight == height { return self }
        let across = ResampleAxis(from: width, to: newWidth)
        let down = ResampleAxis(from: height, to: newHeight)
        let c = channels
        // Horizontal pass into Float rows, (H, newW, C); then vertical into samples, (newH, newW, C).
        var rows = [Float](repeating: 0, count: height * newWidth * c)
        func run<S: FixedWidthInteger & UnsignedInteger>(_ samples: [S]) -> [S] {
            samples.withUnsafeBufferPointer { src in
                rows.withUnsafeMutableBufferPointer { tmp in
                    across.resampleRows(src.baseAddress!, rows: height, channels: c, into: tmp.baseAddress!)
                }
            }
            let count = newHeight * newWidth * c
            return [S](unsafeUninitializedCapacity: count) { out, written in
                rows.withUnsafeBufferPointer { tmp in
                    down.resampleColumns(tmp.baseAddress!, rowLength: newWidth * c, into: out.baseAddress!,
                                         maxValue: Float(S.max))
                }
                written = count
            }
        }
        let pixels: Pixels
        switch self.pixels {
        case let .uint8(samples): pixels = .uint8(run(samples))
        case let .uint16(samples): pixels = .uint16(run(samples))
        }
        return Image(checkedWidth: newWidth, height: newHeight, channels: c, pixels: pixels)
    }
}

/// The source taps of every output index along one axis: output i reads `count[i]` consecutive source
/// indices from `start[i]` with weights `weights[i * taps ..< i * taps + count[i]]` summing to 1.
struct ResampleAxis {
    let source: Int
    let outputs: Int
    let taps: Int
    let start: [Int]
    let count: [Int]
    let weights: [Float]

    init(from source: Int, to output: Int) {
        var start = [Int](repeating: 0, count: output), count = [Int](repeating: 0, count: output)
        var lists = [[Double]]()
        lists.reserveCapacity(output)
        let scale = Double(source) / Double(output)
        for i in 0..<output {
            var w = [Double]()
            if output < source {  // area: output i covers source [i*scale, (i+1)*scale)
                let lo = Double(i) * scale, hi = Double(i + 1) * scale
                let first = Int(lo.rounded(.down)), last = min(source - 1, Int(hi.rounded(.up)) - 1)
                start[i] = first
                for j in first...last { w.append(max(0, min(hi, Double(j + 1)) - max(lo, Double(j)))) }
                while w.count > 1, w.last == 0 { w.removeLast() }
            } else if output > source {  // bilinear between the two nearest pixel centres
                let x = min(max((Double(i) + 0.5) * scale - 0.5, 0), Double(source - 1))
                let j0 = Int(x.rounded(.down)), t = x - Double(j0)
                start[i] = j0
                w = j0 + 1 < source ? [1 - t, t] : [1]
            } else {
                start[i] = i
                w = [1]
            }
            let total = w.reduce(0, +)
            lists.append(w.map { $0 / total })
            count[i] = w.count
        }
        let taps = count.max() ?? 1
        var weights = [Float](repeating: 0, count: output * taps)
        for (i, w) in lists.enumerated() {
            for (k, v) in w.enumerated() { weights[i * taps + k] = Float(v) }
        }
        self.source = source
        self.outputs = output
        self.taps = taps
        self.start = start
        self.count = count
        self.weights = weights
    }

    /// Along rows: (rows, source, C) samples -> (rows, outputs, C) floats.
    func resampleRows<S: FixedWidthInteger & UnsignedInteger>(
        _ src: UnsafePointer<S>, rows: Int, channels c: Int, into out: UnsafeMutablePointer<Float>
    ) {
        start.withUnsafeBufferPointer { st in
            count.withUnsafeBufferPointer { ct in
                weights.withUnsafeBufferPointer { wt in
                    for y in 0..<rows {
                        let row = src + y * source * c, o = out + y * outputs * c  // (source, C), (outputs, C)
                        for i in 0..<outputs {
                            let w = wt.baseAddress! + i * taps, s = row + st[i] * c
                            for ch in 0..<c {
                                var sum: Float = 0
                                for k in 0..<ct[i] { sum += w[k] * Float(s[k * c + ch]) }
                                o[i * c + ch] = sum
                            }
                        }
                    }
                }
            }
        }
    }

    /// Along columns: (source, L) floats -> (outputs, L) samples, rounded to nearest and clamped to
    /// [0, maxValue]; L = rowLength (width times channels).
    func resampleColumns<S: FixedWidthInteger & UnsignedInteger>(
        _ src: UnsafePointer<Float>, rowLength n: Int, into out: UnsafeMutablePointer<S>, maxValue: Float
    ) {
        var acc = [Float](repeating: 0, count: n)  // (L)
        acc.withUnsafeMutableBufferPointer { accBuffer in
            let a = accBuffer.baseAddress!
            start.withUnsafeBufferPointer { st in
                count.withUnsafeBufferPointer { ct in
                    weights.withUnsafeBufferPointer { wt in
                        for i in 0..<outputs {
                            let w = wt.baseAddress! + i * taps
                            for x in 0..<n { a[x] = 0 }
                            for k in 0..<ct[i] {
                                let row = src + (st[i] + k) * n, wk = w[k]
                                for x in 0..<n { a[x] += wk * row[x] }
                            }
                            let o = out + i * n
                            for x in 0..<n { o[x] = S(min(max(a[x].rounded(), 0), maxValue)) }
                        }
                    }
                }
            }
        }
    }
}
