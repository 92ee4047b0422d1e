// A crafted image header cannot make the decoders allocate: width x height is checked against a pixel
// limit (default 64 Mpx, a parameter down to the config key data.maxImagePixels) before any pixel buffer,
// and the error names the file, the image's size and the limit. Regression tests of issue 11.
// Not for: damaged image data (ImageErrorTests) or well-formed round trips (ImageRoundTripTests).

import CZlib
import Foundation
import Testing
@testable import CarinaData

/// A PNG chunk: length, type, data, CRC-32 of type and data (zlib's crc32).
private func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
    let body = Array(type.utf8) + data
    let crc = body.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
    return bigEndian(UInt32(data.count)) + body + bigEndian(crc)
}

private func bigEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }

/// A valid-looking 8-bit gray PNG of a few hundred bytes whose header says `width` x `height`: the IDAT
/// holds one compressed row only (a decoder that trusted the header would allocate width x height first).
private func craftedPNG(width: UInt32, height: UInt32) -> [UInt8] {
    let ihdr = bigEndian(width) + bigEndian(height) + [8, 0, 0, 0, 0]  // depth 8, gray, deflate, no filter, no interlace
    let row = [UInt8](repeating: 0, count: 1 + Int(min(width, 4096)))
    var compressed = [UInt8](repeating: 0, count: 1024)
    var length = uLongf(compressed.count)
    #expect(compress2(&compressed, &length, row, uLong(row.count), 9) == Z_OK)
    return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr)
        + chunk("IDAT", Array(compressed.prefix(Int(length)))) + chunk("IEND", [])
}

@Suite struct ImageLimitTests {
    @Test func hugePNGHeaderIsRefusedNamingTheFileItsSizeAndTheLimit() throws {
        let dir = try TemporaryDirectory("huge-png")
        defer { dir.remove() }
        let png = craftedPNG(width: 20_000, height: 20_000)
        #expect(png.count < 1000)
        try dir.write(png, to: "huge.png")
        let error = #expect(throws: DataError.self) { try Image.decode(contentsOf: dir.file("huge.png")) }
        #expect("\(error!)" == "image \(dir.file("huge.png")): the PNG header says 20000x20000 (400000000 pixels), over the limit of 67108864 pixels (data.maxImagePixels, --max-image-pixels)")
        // The largest size libpng reads (it refuses sides over a million itself) is refused the same way.
        let widest = #expect(throws: DataError.self) { try Image.decode(data: craftedPNG(width: 1_000_000, height: 1_000_000), source: "w.png") }
        #expect("\(widest!)" == "image w.png: the PNG header says 1000000x1000000 (1000000000000 pixels), over the limit of 67108864 pixels (data.maxImagePixels, --max-image-pixels)")
    }

    @Test func hugeJPEGHeaderIsRefusedNamingTheFileItsSizeAndTheLimit() throws {
        let dir = try TemporaryDirectory("huge-jpeg")
        defer { dir.remove() }
        var jpeg = try testImage(width: 16, height: 16).encodeJPEG()
        // Baseline SOF0: FF C0, length (2), precision (1), height (2), width (2).
        let sof = try #require((0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        for (offset, value) in [(5, 30_000), (7, 20_000)] {
            jpeg[sof + offset] = UInt8(value >> 8)
            jpeg[sof + offset + 1] = UInt8(value & 0xFF)
        }
        try dir.write(jpeg, to: "huge.jpg")
        let error = #expect(throws: DataError.self) { try Image.decode(contentsOf: dir.file("huge.jpg")) }
        #expect("\(error!)" == "image \(dir.file("huge.jpg")): the JPEG header says 20000x30000 (600000000 pixels), over the limit of 67108864 pixels (data.maxImagePixels, --max-image-pixels)")
    }

    @Test func thePixelLimitIsAParameterOfDecodingShardsAndPrepare() throws {
        let png = try testImage(width: 64, height: 48).encodePNG()
        #expect(throws: DataError.self) { try Image.decode(data: png, source: "small.png", maxPixels: 64 * 48 - 1) }
        #expect(try Image.decode(data: png, source: "small.png", maxPixels: 64 * 48).width == 64)
        #expect(Image.defaultMaxPixels == 67_108_864)

        let dir = try TemporaryDirectory("limit-shards")
        defer { dir.remove() }
        let writer = try ShardWriter(directory: dir.path, imageSize: nil)
        try writer.write(Sample(key: "s0", image: try testImage(width: 20, height: 16), report: "Clear."))
        _ = try writer.finish()
        #expect(try ShardDataset(directory: dir.path).sample(at: 0).image.width == 20)
        let error = #expect(throws: DataError.self) { try ShardDataset(directory: dir.path, maxImagePixels: 319).sample(at: 0) }
        #expect("\(error!)" == "image \(dir.file("shard-000000.tar")) member s0.png: the PNG header says 20x16 (320 pixels), over the limit of 319 pixels (data.maxImagePixels, --max-image-pixels)")

        let data = try TemporaryDirectory("limit-prepare")
        defer { data.remove() }
        try data.write(png, to: "img/a.png")
        try data.write("image,report\nimg/a.png,Clear.\n", to: "manifest.csv")
        var options = PrepareOptions()
        options.maxImagePixels = 1000
        let out = data.file("out")
        let prepare = #expect(throws: DataError.self) {
            try Prepare.run(ManifestImporter(manifest: data.file("manifest.csv"), format: .csv), into: out, options: options)
        }
        #expect("\(prepare!)" == "\(data.file("manifest.csv")), row 1 (line 2), column 'image': image \(data.file("img/a.png")): the PNG header says 64x48 (3072 pixels), over the limit of 1000 pixels (data.maxImagePixels, --max-image-pixels)")
    }
}
