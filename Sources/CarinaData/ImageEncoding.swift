// Writes an `Image` as PNG (lossless, 8 or 16 bits: what shards store) or JPEG (8 bits, for tests and exports).
// Not for: decoding (ImageDecoding) or choosing what a shard stores.

import CImageCodecs

extension Image {
    /// The image as a PNG file; every sample survives a decode unchanged. `compressionLevel` is zlib's 0...9.
    public func encodePNG(compressionLevel: Int = 6) throws -> [UInt8] {
        guard (0...9).contains(compressionLevel) else {
            throw DataError.badImage(source: "in memory", problem: "PNG compression level \(compressionLevel) is outside 0...9")
        }
        return try encode(format: .png) { samples, bytesPerSample, out, size, message, messageSize in
            carina_png_encode(samples, Int32(width), Int32(height), Int32(channels), bytesPerSample,
                              Int32(compressionLevel), out, size, message, messageSize)
        }
    }

    /// The image as a baseline JPEG at `quality` 1...100. Lossy, and 8-bit images only.
    public func encodeJPEG(quality: Int = 95) throws -> [UInt8] {
        guard (1...100).contains(quality) else {
            throw DataError.badImage(source: "in memory", problem: "JPEG quality \(quality) is outside 1...100")
        }
        guard bitDepth == 8 else {
            throw DataError.badImage(source: "in memory", problem: "JPEG needs 8-bit samples, this image has \(bitDepth)")
        }
        return try encode(format: .jpeg) { samples, _, out, size, message, messageSize in
            carina_jpeg_encode(samples, Int32(width), Int32(height), Int32(channels), Int32(quality),
                               out, size, message, messageSize)
        }
    }

    /// Hands the raw samples to a C encoder and copies its malloc'ed output into an array.
    private func encode(
        format: Format,
        _ call: (UnsafePointer<UInt8>, Int32, UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, UnsafeMutablePointer<Int>,
                 UnsafeMutablePointer<CChar>, Int) -> Int32
    ) throws -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 512)
        let status = message.withUnsafeMutableBufferPointer { text -> Int32 in
            switch pixels {
            case let .uint8(samples):
                return samples.withUnsafeBufferPointer { call($0.baseAddress!, 1, &output, &size, text.baseAddress!, text.count) }
            case let .uint16(samples):
                return samples.withUnsafeBytes {
                    call($0.bindMemory(to: UInt8.self).baseAddress!, 2, &output, &size, text.baseAddress!, text.count)
                }
            }
        }
        defer { carina_codec_free(output) }
        guard status == 0, let output else {
            let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw DataError.badImage(source: "in memory", problem: "\(format.rawValue) encode failed: \(reason)")
        }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }
}
