// Encoding then decoding PNG keeps every sample (8-bit, 16-bit, gray, RGB); JPEG stays close.
// Not for: malformed files (ImageErrorTests) or the real data set (RealImageTests).

import Testing
import CarinaData

@Suite struct ImageRoundTripTests {
    @Test func pngRoundTripKeeps8BitGrayExactly() throws {
        let samples = (0..<(61 * 47)).map { UInt8(truncatingIfNeeded: $0 &* 37 ^ $0 >> 3) }
        let image = try Image(width: 61, height: 47, channels: 1, pixels: .uint8(samples))
        let decoded = try Image.decode(data: try image.encodePNG(), source: "gray8.png")
        #expect(decoded == image)
        #expect(decoded.bitDepth == 8 && decoded.channels == 1)
    }

    @Test func pngRoundTripKeepsEvery16BitSample() throws {
        // A 256x256 image holding each of the 65536 values once, so no bit of any sample can be lost.
        let samples = (0..<65_536).map { UInt16($0) }
        let image = try Image(width: 256, height: 256, channels: 1, pixels: .uint16(samples))
        let decoded = try Image.decode(data: try image.encodePNG(compressionLevel: 1), source: "gray16.png")
        #expect(decoded == image)
        #expect(decoded.bitDepth == 16)
    }

    @Test func pngRoundTripKeepsRGBExactly() throws {
        let samples = (0..<(19 * 13 * 3)).map { UInt8(truncatingIfNeeded: $0 &* 91 &+ 7) }
        let image = try Image(width: 19, height: 13, channels: 3, pixels: .uint8(samples))
        let decoded = try Image.decode(data: try image.encodePNG(), source: "rgb.png")
        #expect(decoded == image)
    }

    @Test func jpegRoundTripStaysWithinTolerance() throws {
        // A smooth image, as X-rays are: quality 95 keeps every sample within a few grey levels.
        let (w, h) = (64, 48)
        var samples = [UInt8]()
        for y in 0..<h { for x in 0..<w { samples.append(UInt8(40 + 2 * x + y)) } }
        let image = try Image(width: w, height: h, channels: 1, pixels: .uint8(samples))
        let decoded = try Image.decode(data: try image.encodeJPEG(quality: 95), source: "smooth.jpg")
        #expect(decoded.width == w && decoded.height == h && decoded.channels == 1 && decoded.bitDepth == 8)
        guard case let .uint8(back) = decoded.pixels else { Issue.record("JPEG decoded to 16 bits"); return }
        let errors = zip(samples, back).map { abs(Int($0) - Int($1)) }
        #expect(errors.max()! <= 4, "max error \(errors.max()!)")
        #expect(Double(errors.reduce(0, +)) / Double(errors.count) <= 1.0)
    }

    @Test func grayscaleTensorScalesSamplesIntoUnitRange() throws {
        let gray8 = try Image(width: 3, height: 1, channels: 1, pixels: .uint8([0, 51, 255]))
        #expect(gray8.grayscaleTensor().shape == [1, 3])
        #expect(gray8.grayscaleTensor().scalars == [0, 0.2, 1])

        let gray16 = try Image(width: 1, height: 2, channels: 1, pixels: .uint16([0, 65535]))
        #expect(gray16.grayscaleTensor().shape == [2, 1])
        #expect(gray16.grayscaleTensor().scalars == [0, 1])

        let rgb = try Image(width: 2, height: 1, channels: 3, pixels: .uint8([255, 255, 255, 255, 0, 0]))
        let luma = rgb.grayscaleTensor().scalars
        #expect(luma[0] == 1)
        #expect(abs(luma[1] - 0.299) < 1e-6)
    }
}
