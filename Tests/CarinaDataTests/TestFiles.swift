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

/// How `body` ended within `seconds`: "ok", or its error's description; nil if it was still running then
/// (it keeps running on its own thread). For promises of the form "does not hang", never for speed.
func outcome(within seconds: Double, _ body: @escaping @Sendable () throws -> Void) -> String? {
    final class Box: @unchecked Sendable {
        let lock = NSLock()
        var text: String?
    }
    let box = Box(), done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        let text: String
        do { try body(); text = "ok" } catch { text = "\(error)" }
        box.lock.lock(); box.text = text; box.lock.unlock()
        done.signal()
    }
    guard done.wait(timeout: .now() + seconds) == .success else { return nil }
    box.lock.lock(); defer { box.lock.unlock() }
    return box.text
}

/// Replaces whatever is at `path` with a named pipe (FIFO) that no one writes to.
func makeFIFO(at path: String) throws {
    try? FileManager.default.removeItem(atPath: path)
    guard mkfifo(path, 0o644) == 0 else { throw CocoaError(.fileWriteUnknown) }
}

/// Opens and closes the writing end of a FIFO without blocking, so that a reader stuck opening it goes on
/// (cleanup after a reader that hung: the test has already failed).
func releaseFIFO(at path: String) {
    let fd = open(path, O_WRONLY | O_NONBLOCK)
    if fd >= 0 { close(fd) }
}
