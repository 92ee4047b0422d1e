// Helpers for data tests: a fresh temporary directory per test and where the shared real data lives.
// Not for: assertions (each suite states its own).

import Foundation
import CarinaData

/// A new empty directory under the system temporary directory; removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init(_ label: String = "carina-test") throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ text: String, to name: String) throws {
        try write(Array(text.utf8), to: name)
    }

    func write(_ bytes: [UInt8], to name: String) throws {
        let target = file(name)
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: target, contents: Data(bytes)) else {
            throw CocoaError(.fileWriteUnknown)
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// ../shared/data relative to the package root (found from this file's path); may be absent.
let sharedData = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("../shared/data").standardizedFileURL.path

func sharedDataExists(_ relative: String) -> Bool {
    FileManager.default.fileExists(atPath: sharedData + "/" + relative)
}

/// A deterministic test image: a gradient plus a pattern, so resampling and round trips can be told apart.
func testImage(width: Int, height: Int, channels: Int = 1, sixteenBit: Bool = false, seed: Int = 0) throws -> Image {
    let n = width * height * channels
    if sixteenBit {
        let samples = (0..<n).map { UInt16(truncatingIfNeeded: ($0 &* 2_654_435_761 &+ seed &* 97) >> 7) }
        return try Image(width: width, height: height, channels: channels, pixels: .uint16(samples))
    }
    let samples = (0..<n).map { UInt8(truncatingIfNeeded: ($0 / channels % width) * 3 + ($0 / (width * channels)) * 2 + seed * 11 + $0 % 7) }
    return try Image(width: width, height: height, channels: channels, pixels: .uint8(samples))
}
