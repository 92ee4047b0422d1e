// Reads PNG and JPEG files into `Image`, choosing the codec from the file's first bytes, not its name.
// Not for: encoding (ImageEncoding) or resizing and augmentation, which work on decoded images.

import CImageCodecs
import Foundation

extension Image {
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

    /// Decodes a PNG or JPEG file held in memory. `source` (a path or shard member) names it in errors.
    public static func decode(data: UnsafeRawBufferPointer, source: String) throws -> Image {
        guard !data.isEmpty else { throw DataError.badImage(source: source, problem: "empty file") }
        guard let format = Format(sniffing: data) else {
            let head = data.prefix(8).map { String(format: "%02X", $0) }.joined(separator: " ")
            throw DataError.badImage(source: source, problem: "not a PNG or JPEG file (starts with \(head))")
        }
        let bytes = data.bindMemory(to: UInt8.self)
        var decoded = carina_image()
        var message = [CChar](repeating: 0, count: 512)
        let status = message.withUnsafeMutableBufferPointer { text in
            switch format {
            case .png:
                return carina_png_decode(bytes.baseAddress, bytes.count, &decoded, text.baseAddress, text.count)
            case .jpeg:
                return carina_jpeg_decode(bytes.baseAddress, bytes.count, 0, &decoded, text.baseAddress, text.count)
            }
        }
        defer { carina_codec_free(decoded.pixels) }
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

    /// Decodes PNG or JPEG bytes; see `decode(data:source:)`.
    public static func decode(data: [UInt8], source: String) throws -> Image {
        try data.withUnsafeBytes { try decode(data: $0, source: source) }
    }

    /// Decodes PNG or JPEG bytes; see `decode(data:source:)`.
    public static func decode(data: Data, source: String) throws -> Image {
        try data.withUnsafeBytes { try decode(data: $0, source: source) }
    }

    /// Reads and decodes the PNG or JPEG file at `path`; errors name the path.
    public static func decode(contentsOf path: String) throws -> Image {
        let bytes: [UInt8]
        do {
            bytes = try FileBytes.contents(of: path)
        } catch {
            throw DataError.badImage(source: path, problem: "cannot read file: \(error)")
        }
        return try decode(data: bytes, source: path)
    }
}
