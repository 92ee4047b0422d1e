// The decoder reads the real NIH ChestX-ray14 PNGs in ../shared/data (outside the repository, by licence).
// Not for: synthetic round trips (ImageRoundTripTests). Skipped, with a message, where the data is absent.

import Foundation
import Testing
import CarinaData

/// ../shared/data/nih-cxr14-1000/images64, relative to the package root (found from this file's path).
private let nihImages = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()  // package root
    .appendingPathComponent("../shared/data/nih-cxr14-1000/images64").standardizedFileURL

@Suite struct RealImageTests {
    @Test(.enabled(if: FileManager.default.fileExists(atPath: nihImages.path),
                   "real NIH images not found at ../shared/data/nih-cxr14-1000/images64 (shared data absent)"))
    func realNIHImagesDecodeAs64x64Gray8Bit() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: nihImages.path)
            .filter { $0.hasSuffix(".png") }.sorted()
        #expect(!names.isEmpty, "no PNG files in \(nihImages.path)")
        for name in names {
            let image = try Image.decode(contentsOf: nihImages.appendingPathComponent(name).path)
            #expect(image.width == 64 && image.height == 64 && image.channels == 1 && image.bitDepth == 8, "\(name)")
            let tensor = image.grayscaleTensor()
            #expect(tensor.scalars.allSatisfy { $0 >= 0 && $0 <= 1 }, "\(name)")
        }
    }
}
