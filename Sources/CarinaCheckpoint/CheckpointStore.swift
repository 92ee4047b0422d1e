// A run directory's checkpoints: `step-00001200.ckpt` files plus a `latest` pointer, both replaced
// atomically; the newest K (and every N-th step) kept; resume takes the newest checkpoint that verifies and
// says which newer ones it skipped and why. Not for: the file format (CheckpointFile).
import Foundation

public struct CheckpointStore {
    public let directory: String
    public let keepLast: Int
    public let keepEvery: Int?

    public init(directory: String, keepLast: Int = 3, keepEvery: Int? = nil) throws {
        self.directory = directory
        self.keepLast = max(1, keepLast)
        self.keepEvery = keepEvery.flatMap { $0 > 0 ? $0 : nil }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CheckpointError.io(path: directory, detail: "cannot create the checkpoint directory: \(error.localizedDescription)")
        }
    }

    public static func fileName(step: Int) -> String { String(format: "step-%08d.ckpt", step) }

    static func step(of name: String) -> Int? {
        guard name.hasPrefix("step-"), name.hasSuffix(".ckpt") else { return nil }
        return Int(name.dropFirst(5).dropLast(5))
    }

    /// Writes the checkpoint of `step`, then points `latest` at it, then prunes old ones.
    @discardableResult
    public func save(_ contents: CheckpointContents, step: Int, level: Int = 3, threads: Int = 2) throws -> String {
        let name = CheckpointStore.fileName(step: step)
        let path = (directory as NSString).appendingPathComponent(name)
        try CheckpointFile.write(contents, to: path, level: level, threads: threads)
        try AtomicFile.write(Array((name + "\n").utf8), to: (directory as NSString).appendingPathComponent("latest"))
        prune()
        return path
    }

    /// Checkpoint files, newest step first.
    public func list() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { n in CheckpointStore.step(of: n).map { (n, $0) } }.sorted { $0.1 > $1.1 }
            .map { (directory as NSString).appendingPathComponent($0.0) }
    }

    /// The file `latest` names, if any.
    public var latestPointer: String? {
        guard let data = FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent("latest")),
              let name = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !name.isEmpty else { return nil }
        return (directory as NSString).appendingPathComponent(name)
    }

    /// The newest checkpoint that reads and verifies: `latest` first, then every checkpoint file newest
    /// first. `skipped` lists the ones that did not verify, with the reason.
    public func latestValid() -> (path: String, contents: CheckpointContents, skipped: [(path: String, reason: String)])? {
        var candidates = list()
        if let pointed = latestPointer {
            candidates.removeAll { $0 == pointed }
            candidates.insert(pointed, at: 0)
        }
        var skipped: [(String, String)] = []
        for path in candidates {
            do {
                return (path, try CheckpointFile.read(path), skipped.map { (path: $0.0, reason: $0.1) })
            } catch {
                skipped.append((path, "\(error)"))
            }
        }
        return nil
    }

    /// Keeps the newest `keepLast` files and every `keepEvery`-th step; removes the rest.
    func prune() {
        for (i, path) in list().enumerated() where i >= keepLast {
            let step = CheckpointStore.step(of: (path as NSString).lastPathComponent) ?? 0
            if let every = keepEvery, step % every == 0 { continue }
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}
