// Finds the built `carina` executable (and mpirun) for the tests that run it as a subprocess.
// Not for: running it (Subprocess.swift) or assertions about what it prints, which the tests make.

import Foundation

public enum CarinaBinary {
    /// The `carina` executable built beside this test bundle. The folder of the test executable is the
    /// build products folder whatever `--scratch-path` was used (Linux); on macOS the executable sits
    /// inside the .xctest bundle, hence the ancestors. Last resort: <package root>/.build/debug.
    /// `CARINA_BINARY` overrides. When nothing is found the error says to run `swift build`.
    public static func locate() throws -> URL {
        if let override = ProcessInfo.processInfo.environment["CARINA_BINARY"] {
            guard isExecutableFile(override) else { throw SubprocessError("CARINA_BINARY=\(override) is not an executable file") }
            return URL(fileURLWithPath: override)
        }
        let selfPath = FileManager.default.fileExists(atPath: "/proc/self/exe") ? "/proc/self/exe" : CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: selfPath).resolvingSymlinksInPath().deletingLastPathComponent()
        var candidates: [String] = []
        for _ in 0..<4 {  // Linux: .../debug/X.xctest; macOS: .../debug/X.xctest/Contents/MacOS/X
            candidates.append(directory.appendingPathComponent("carina").path)
            directory = directory.deletingLastPathComponent()
        }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let fallback = packageRoot.appendingPathComponent(".build/debug/carina").path
        if !candidates.contains(fallback) { candidates.append(fallback) }
        if let found = candidates.first(where: isExecutableFile) { return URL(fileURLWithPath: found) }
        throw SubprocessError("the carina executable was not found (searched \(candidates.joined(separator: ", "))); "
                              + "run `swift build` before `swift test` (launch/test.sh does both)")
    }

    private static func isExecutableFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
            && FileManager.default.isExecutableFile(atPath: path)
    }

    /// `name` found on PATH, or nil.
    public static func onPath(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}
