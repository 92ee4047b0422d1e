// A decoded raster image as it came from the file: size, channels, 8- or 16-bit samples.
// Not for: decoding or encoding (ImageDecoding, ImageEncoding) or turning it into a tensor (ImageTensor).

/// Rows top to bottom, channels interleaved (gray: 1 channel, RGB: 3). 16-bit X-rays (DICOM exports,
/// VinDr-CXR PNGs) keep all their bits; 8-bit images are not widened.
public struct Image: Sendable, Equatable {
    /// The samples, row-major and interleaved, at the image's own bit depth.
    public enum Pixels: Sendable, Equatable {
        case uint8([UInt8])
        case uint16([UInt16])

        public var count: Int {
            switch self {
            case let .uint8(samples): return samples.count
            case let .uint16(samples): return samples.count
            }
        }
    }

    public let width: Int
    public let height: Int
    /// 1 (gray) or 3 (RGB).
    public let channels: Int
    public let pixels: Pixels

    /// 8 or 16.
    public var bitDepth: Int {
        switch pixels {
        case .uint8: return 8
        case .uint16: return 16
        }
    }

    /// The largest sample value at this bit depth (255 or 65535).
    public var maxSampleValue: Int { (1 << bitDepth) - 1 }

    /// An image from its samples; throws when the layout is impossible. `source` names it in errors.
    public init(width: Int, height: Int, channels: Int, pixels: Pixels, source: String = "in memory") throws {
        guard width > 0 && height > 0 else {
            throw DataError.badImage(source: source, problem: "size \(width)x\(height) is empty")
        }
        guard channels == 1 || channels == 3 else {
            throw DataError.badImage(source: source, problem: "\(channels) channels; only 1 (gray) or 3 (RGB) are supported")
        }
        guard pixels.count == width * height * channels else {
            throw DataError.badImage(source: source,
                                     problem: "\(pixels.count) samples for \(width)x\(height) with \(channels) channels")
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }
}
