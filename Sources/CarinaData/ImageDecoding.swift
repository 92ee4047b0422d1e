// Reads PNG and JPEG files into `Image`, choosing the codec from the file's first bytes, not its name, and
// refusing images over a pixel limit from their header, before their pixels are allocated.
// Not for: encoding (ImageEncoding) or resizing and augmentation, which work on decoded images.

import CImageCodecs
import Foundation

extension Image {
    /// The default most pixels (width x height) an image may have: 67,108,864 (64 Mpx, 8192 x 8192), well
    /// above real radiographs (about 3000 x 3000), so a crafted header cannot make a decoder allocate
    /// gigabytes. `carina prepare --max-image-pixels` and the config key `data.maxImagePixels` change it.
    public static let defaultMaxPixels = 1 << 26

    /// The formats the decoder recognises by their magic bytes.
    public enum Format: String, Sendable {
        case png = "PNG"
        case jpeg = "JPEG"

        /// PNG starts with \x89PNG\r\n\x1a\n, JPEG with the SOI marker FF D8 followed by another marker.
        public init?(sniffing bytes: UnsafeRawBufferPointer) {
            let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            if bytes.count >= png.count && zip(bytes, png).allSatisfy({ $0 == $1 }) {
                self = .png
            } else if bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF {
                self = .jpeg
            } else {
                return nil
            }
        }
    }

    /// Decodes a PNG or JPEG file held in memory. `source` (a path or shard member) names it in errors. An
    /// image whose header says more than `maxPixels` pixels is refused before any pixel is allocated.
    public static func decode(data: UnsafeRawBufferPointer, source: String, maxPixels: Int = defaultMaxPixels) throws -> Image {
        guard !data.isEmpty else { throw DataError.badImage(source: source, problem: "empty file") }
        guard let format = Format(sniffing: data) else {
            // Never echo the bytes: the path may name a file that is not an image at all (a secret).
            throw DataError.badImage(source: source, problem: "not a PNG or JPEG file (it does not start with either signature)")
        }
        let bytes = data.bindMemory(to: UInt8.self)
        let limit = UInt64(max(0, maxPixels))
        var decoded = carina_image()
        var message = [CChar](repeating: 0, count: 512)
        let status = message.withUnsafeMutableBufferPointer { text in
            switch format {
            case .png:
                return carina_png_decode(bytes.baseAddress, bytes.count, limit, &decoded, text.baseAddress, text.count)
            case .jpeg:
                return carina_jpeg_decode(bytes.baseAddress, bytes.count, 0, limit, &decoded, text.baseAddress, text.count)
            }
        }
        defer { carina_codec_free(decoded.pixels) }
        if status == CARINA_CODEC_TOO_LARGE {
            let pixels = Int(decoded.width) * Int(decoded.height)
            throw DataError.badImage(source: source, problem: "the \(format.rawValue) header says \(decoded.width)x\(decoded.height) (\(pixels) pixels), over the limit of \(maxPixels) pixels (data.maxImagePixels, --max-image-pixels)")
        }
        guard status == 0, let samples = decoded.pixels else {
            let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw DataError.badImage(source: source, problem: "\(format.rawValue) decode failed: \(reason)")
        }
        let count = Int(decoded.width) * Int(decoded.height) * Int(decoded.channels)
        let pixels: Pixels
        if decoded.bytesPerSample == 2 {
            // The codec hands 16-bit samples over in host byte order.
            pixels = .uint16([UInt16](unsafeUninitializedCapacity: count) { out, written in
                UnsafeMutableRawPointer(out.baseAddress!).copyMemory(from: samples, byteCount: count * 2)
                written = count
            })
        } else {
            pixels = .uint8(Array(UnsafeBufferPointer(start: samples, count: count)))
        }
        return try Image(width: Int(decoded.width), height: Int(decoded.height), channels: Int(decoded.channels),
                         pixels: pixels, source: source)
    }

    /// Decodes PNG or JPEG bytes; see `decode(data:source:maxPixels:)`.
    public static func decode(data: [UInt8], source: String, maxPixels: Int = defaultMaxPixels) throws -> Image {
        try data.withUnsafeBytes { try decode(data: $0, source: source, maxPixels: maxPixels) }
    }

    /// Decodes PNG or JPEG bytes; see `decode(data:source:maxPixels:)`.
    public static func decode(data: Data, source: String, maxPixels: Int = defaultMaxPixels) throws -> Image {
        try data.withUnsafeBytes { try decode(data: $0, source: source, maxPixels: maxPixels) }
    }

    /// Reads and decodes the PNG or JPEG file at `path`; errors name the path. Only regular files are read
    /// (a named pipe is refused without blocking).
    public static func decode(contentsOf path: String, maxPixels: Int = defaultMaxPixels) throws -> Image {
        let bytes: [UInt8]
        do {
            bytes = try FileBytes.contents(of: path)
        } catch {
            throw DataError.badImage(source: path, problem: "cannot read file: \(error)")
        }
        return try decode(data: bytes, source: path, maxPixels: maxPixels)
    }
}
