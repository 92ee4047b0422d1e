// Bad image bytes are errors that name the file and say what is wrong; they never crash or decode garbage.
// Not for: well-formed images (ImageRoundTripTests).

import Foundation
import Testing
import CarinaData

@Suite struct ImageErrorTests {
    @Test func truncatedPNGNamesTheFile() throws {
        let samples = (0..<(64 * 64)).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let png = try Image(width: 64, height: 64, channels: 1, pixels: .uint8(samples)).encodePNG()
        let error = #expect(throws: DataError.self) {
            try Image.decode(data: Array(png.prefix(png.count / 2)), source: "/scans/patient7.png")
        }
        let text = String(describing: error!)
        #expect(text.contains("/scans/patient7.png"))
        #expect(text.contains("PNG decode failed"))
        #expect(text.contains("truncated"))
    }

    @Test func corruptJPEGNamesTheFile() throws {
        var samples = [UInt8]()
        for y in 0..<32 { for x in 0..<32 { samples.append(UInt8(4 * x + 2 * y)) } }
        var jpeg = try Image(width: 32, height: 32, channels: 1, pixels: .uint8(samples)).encodeJPEG()
        // Keep the SOI marker and the 18-byte JFIF segment (so it is sniffed as JPEG); wipe the tables after it.
        for i in 20..<min(200, jpeg.count) { jpeg[i] = 0x5A }
        let error = #expect(throws: DataError.self) { try Image.decode(data: jpeg, source: "study42/view1.jpg") }
        let text = String(describing: error!)
        #expect(text.contains("study42/view1.jpg"))
        #expect(text.contains("JPEG decode failed"))
    }

    @Test func truncatedJPEGIsAnErrorNotGrey() throws {
        var samples = [UInt8]()
        for y in 0..<64 { for x in 0..<64 { samples.append(UInt8(truncatingIfNeeded: x * y)) } }
        let jpeg = try Image(width: 64, height: 64, channels: 1, pixels: .uint8(samples)).encodeJPEG()
        #expect(throws: DataError.self) { try Image.decode(data: Array(jpeg.prefix(jpeg.count * 2 / 3)), source: "cut.jpg") }
    }

    @Test func unknownFormatIsNamedWithoutEchoingTheFilesBytes() {
        // The path may name a file that is no image at all (/etc/shadow in a crafted manifest): never print its content.
        let error = #expect(throws: DataError.self) { try Image.decode(data: Array("root:$6$secret".utf8), source: "x.png") }
        #expect(String(describing: error!) == "image x.png: not a PNG or JPEG file (it does not start with either signature)")
    }

    @Test func missingFileNamesThePath() {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("carina-no-such-image.png").path
        let error = #expect(throws: DataError.self) { try Image.decode(contentsOf: path) }
        #expect(String(describing: error!) == "image \(path): cannot read file: No such file or directory")
    }

    @Test func directoryIsNotAnImage() {
        let path = FileManager.default.temporaryDirectory.path
        let error = #expect(throws: DataError.self) { try Image.decode(contentsOf: path) }
        #expect(String(describing: error!) == "image \(path): cannot read file: not a regular file (a directory)")
    }

    @Test func impossibleLayoutIsRejected() {
        #expect(throws: DataError.self) { try Image(width: 4, height: 4, channels: 1, pixels: .uint8([1, 2, 3])) }
        #expect(throws: DataError.self) { try Image(width: 1, height: 1, channels: 2, pixels: .uint8([1, 2])) }
    }
}
