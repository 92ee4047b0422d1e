// Grayscale conversion and resizing at the image's own bit depth: area averaging when shrinking, bilinear
// when growing, aspect kept by short-side. Not for: augmentation transforms built on them.

import Testing
import CarinaData

@Suite struct ResizeTests {
    @Test func halvingAveragesEachTwoByTwoBlock() throws {
        let (w, h) = (8, 6)
        let samples = (0..<(w * h)).map { UInt8(($0 * 37) % 251) }
        let image = try Image(width: w, height: h, channels: 1, pixels: .uint8(samples))
        let half = try image.resized(width: 4, height: 3)
        guard case let .uint8(out) = half.pixels else { Issue.record("bit depth changed"); return }
        for y in 0..<3 {
            for x in 0..<4 {
                let block = [samples[(2 * y) * w + 2 * x], samples[(2 * y) * w + 2 * x + 1],
                             samples[(2 * y + 1) * w + 2 * x], samples[(2 * y + 1) * w + 2 * x + 1]]
                let mean = Double(block.map(Int.init).reduce(0, +)) / 4
                #expect(abs(Double(out[y * 4 + x]) - mean) <= 0.5, "(\(x), \(y))")
            }
        }
    }

    @Test func shrinkingByAThirdWeighsPartialPixels() throws {
        // 3 -> 2 pixels: output 0 covers source [0, 1.5) = p0 + half of p1.
        let image = try Image(width: 3, height: 1, channels: 1, pixels: .uint16([0, 300, 600]))
        let out = try image.resized(width: 2, height: 1)
        #expect(out.pixels == .uint16([100, 500]))
    }

    @Test func enlargingInterpolatesBilinearly() throws {
        // 2 -> 4 pixels, half-pixel centres: source x = 0.5 i - 0.25, clamped.
        let image = try Image(width: 2, height: 1, channels: 1, pixels: .uint8([0, 200]))
        let out = try image.resized(width: 4, height: 1)
        #expect(out.pixels == .uint8([0, 50, 150, 200]))
    }

    @Test func constantImageStaysConstantAtSixteenBits() throws {
        let image = try Image(width: 37, height: 23, channels: 1, pixels: .uint16([UInt16](repeating: 54_321, count: 37 * 23)))
        for (w, h) in [(10, 7), (80, 50), (37, 5), (5, 60)] {
            let out = try image.resized(width: w, height: h)
            #expect(out.bitDepth == 16 && out.width == w && out.height == h)
            #expect(out.pixels == .uint16([UInt16](repeating: 54_321, count: w * h)))
        }
    }

    @Test func shortSideKeepsTheAspectRatio() {
        #expect(ImageResize.shortSide(256).size(width: 2000, height: 2500) == (256, 320))
        #expect(ImageResize.shortSide(256).size(width: 3000, height: 2000) == (384, 256))
        #expect(ImageResize.square(224).size(width: 3000, height: 2000) == (224, 224))
    }

    @Test func rgbBecomesRoundedLumaAtTheSameDepth() throws {
        let rgb = try Image(width: 3, height: 1, channels: 3, pixels: .uint8([255, 0, 0, 0, 255, 0, 10, 20, 30]))
        let gray = rgb.grayscale()
        // 0.299 * 255 = 76.245, 0.587 * 255 = 149.685, 0.299*10 + 0.587*20 + 0.114*30 = 18.15
        #expect(gray.channels == 1 && gray.pixels == .uint8([76, 150, 18]))
        let rgb16 = try Image(width: 1, height: 1, channels: 3, pixels: .uint16([65535, 65535, 65535]))
        #expect(rgb16.grayscale().pixels == .uint16([65535]))
    }

    @Test func resizingRGBKeepsChannelsApart() throws {
        let image = try Image(width: 4, height: 2, channels: 3, pixels: .uint8((0..<24).map { $0 % 3 == 0 ? 200 : $0 % 3 == 1 ? 100 : 0 }))
        let out = try image.resized(width: 2, height: 1)
        #expect(out.pixels == .uint8([200, 100, 0, 200, 100, 0]))
    }
}
