// Fresh scratch directories for tests that write runs, configs and metrics.
import Foundation

/// A new empty directory under the system's temporary directory, named `carina-PREFIX-UUID`.
public func makeTemporaryDirectory(_ prefix: String) throws -> String {
    let dir = NSTemporaryDirectory() + "carina-\(prefix)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}
