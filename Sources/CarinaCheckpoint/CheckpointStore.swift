// A run directory's checkpoints: `step-00001200.ckpt` files plus a `latest` pointer and, when a run selects
// by a metric, a `best` pointer, each replaced atomically; the newest K (and every N-th step, and the best)
// kept, pruned only once the new one is durable; resume takes the newest checkpoint that verifies and says
// which it skipped and why. Not for: the file format (CheckpointFile).
import CarinaData
import Foundation

public struct CheckpointStore: Sendable {
    public let directory: String
    public let keepLast: Int
    public let keepEvery: Int?

    /// The store of `directory` (created if missing). Keeps the newest `keepLast` (at least 1) checkpoints
    /// and every checkpoint whose step is a multiple of `keepEvery`.
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

    /// `step-00001200.ckpt` for step 1200 (8 digits, more when needed).
    public static func fileName(step: Int) -> String { String(format: "step-%08d.ckpt", step) }

    /// The step of a checkpoint file name, or nil for any other name (temporary files included).
    public static func step(of name: String) -> Int? {
        guard name.hasPrefix("step-"), name.hasSuffix(".ckpt") else { return nil }
        let digits = name.dropFirst(5).dropLast(5)
        guard digits.count >= 8, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }

    private func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    /// Writes the checkpoint of `step` durably, then points `latest` at it (durably), then prunes old
    /// checkpoints and temporary files that killed writers left. Returns the new file's path.
    @discardableResult
    public func save(_ contents: CheckpointContents, step: Int, level: Int = 3, shuffle: Bool = true, threads: Int = 2) throws -> String {
        guard step >= 0 else { throw CheckpointError.io(path: directory, detail: "cannot save a checkpoint for negative step \(step)") }
        let name = CheckpointStore.fileName(step: step)
        let file = path(name)
        // On failure nothing appears under a final name (AtomicFile removes its temporary file); the error
        // says how much room is left, the usual cause.
        do {
            try CheckpointFile.write(contents, to: file, level: level, shuffle: shuffle, threads: threads)
        } catch let CheckpointError.io(failed, detail) {
            throw CheckpointError.io(path: file, detail: "checkpoint not written (\(failed): \(detail)); \(freeSpace()); "
                                     + "`latest` and the older checkpoints are untouched")
        }
        do {
            try CheckpointError.writing { try AtomicFile.write(Array((name + "\n").utf8), to: path("latest")) }
        } catch let CheckpointError.io(failed, detail) {
            throw CheckpointError.io(path: file, detail: "checkpoint written, but `latest` still names the previous one "
                                     + "(\(failed): \(detail)); \(freeSpace()); resume finds the newest that verifies either way")
        }
        prune(keeping: file)
        return file
    }

    /// "N MB free of M MB on the file system of DIRECTORY" (statvfs), or why it is unknown.
    public func freeSpace() -> String {
        var s = statvfs()
        guard statvfs(directory, &s) == 0 else { return "free space on \(directory) unknown (\(AtomicFile.lastError()))" }
        let free = Double(s.f_bavail) * Double(s.f_frsize), total = Double(s.f_blocks) * Double(s.f_frsize)
        return "\(CheckpointStore.bytes(free)) free of \(CheckpointStore.bytes(total)) on the file system of \(directory)"
    }

    /// A byte count for people: 512 B, 12.3 KB, 4.5 MB, 1.2 GB (powers of 1024).
    static func bytes(_ n: Double) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = n, unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(Int(value)) B" : String(format: "%.1f ", value) + units[unit]
    }

    /// Checkpoint files, highest step first. Temporary files are never listed.
    public func list() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { n in CheckpointStore.step(of: n).map { (n, $0) } }.sorted { $0.1 > $1.1 }.map { path($0.0) }
    }

    /// The path `latest` names, if it holds a plain file name.
    public var latestPointer: String? {
        guard let name = try? pointedName() else { return nil }
        return path(name)
    }

    /// The path `best` names (the checkpoint with the best selected metric so far), if any.
    public var bestPointer: String? {
        guard let name = try? pointedName("best") else { return nil }
        return path(name)
    }

    /// Points `best` at `file` (a checkpoint of this store), atomically; it is then never pruned.
    public func markBest(_ file: String) throws {
        let name = (file as NSString).lastPathComponent
        guard CheckpointStore.step(of: name) != nil, FileManager.default.fileExists(atPath: path(name)) else {
            throw CheckpointError.io(path: file, detail: "cannot mark as best: not a checkpoint of \(directory)")
        }
        try CheckpointError.writing { try AtomicFile.write(Array((name + "\n").utf8), to: path("best")) }
    }

    /// The name a pointer file (`latest`, `best`) holds; nil when there is none; an error when it cannot be used.
    private func pointedName(_ pointerName: String = "latest") throws -> String? {
        let pointer = path(pointerName)
        var info = stat()
        guard lstat(pointer, &info) == 0 || errno != ENOENT else { return nil }
        // A regular file of at most a few hundred bytes: a named pipe put in its place is an error, not a hang.
        let data = Data(try ReadOnlyFile.smallFile(pointer, limit: 4096))
        guard let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
              !text.isEmpty, !text.contains("/"), text.count < 256 else {
            throw CheckpointError.corrupt(path: pointer, detail: "the \(pointerName) pointer does not hold a checkpoint file name")
        }
        return text
    }

    /// The newest checkpoint that reads and verifies: the one `latest` names first, then every checkpoint
    /// file, highest step first. `skipped` lists the files passed over with the reason (corrupt, truncated,
    /// unreadable, not a regular file — a crafted file is one of these, never a crash or a hang). With
    /// `expecting`, the model's names and shapes are compared with each manifest before anything is
    /// decompressed. Nil when there is nothing to resume; but when files were passed over only because they do
    /// not fit the model or need more memory than the machine has, the first such error is thrown instead:
    /// starting afresh beside a run's checkpoints would bury them.
    public func latestValid(threads: Int = 2, expecting model: [(name: String, shape: [Int])]? = nil) throws
        -> (path: String, contents: CheckpointContents, skipped: [(path: String, reason: String)])? {
        var candidates = list()
        var skipped: [(path: String, reason: String)] = []
        do {
            if let name = try pointedName() {
                let pointed = path(name)
                candidates.removeAll { $0 == pointed }
                candidates.insert(pointed, at: 0)
            }
        } catch {
            skipped.append((path("latest"), "\(error)"))
        }
        var unfitting: CheckpointError?
        for candidate in candidates {
            do {
                return (candidate, try CheckpointFile.read(candidate, threads: threads, expecting: model), skipped)
            } catch {
                if let error = error as? CheckpointError, error.kind == "mismatch" || error.kind == "too large", unfitting == nil { unfitting = error }
                skipped.append((candidate, "\(error)"))
            }
        }
        if let unfitting { throw unfitting }
        return nil
    }

    /// Deletes checkpoints beyond the newest `keepLast` that are not every `keepEvery`-th step (never
    /// `kept`, the one just saved, nor the one `best` names), and temporary files of writers that no longer run.
    func prune(keeping kept: String) {
        var newer = 1  // `kept` counts as one of the newest
        var removed = false
        let best = bestPointer
        for file in list() where file != kept && file != best {
            let step = CheckpointStore.step(of: (file as NSString).lastPathComponent) ?? 0
            if newer < keepLast { newer += 1; continue }
            if let every = keepEvery, step % every == 0 { continue }
            removed = (unlink(file) == 0) || removed
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            guard let owner = AtomicFile.temporaryOwner(name), owner != getpid(), kill(owner, 0) != 0, errno == ESRCH else { continue }
            removed = (unlink(path(name)) == 0) || removed
        }
        if removed { try? AtomicFile.syncDirectory(of: path("latest")) }
    }

    /// The checkpoint file a command-line PATH means: a checkpoint file itself; a `latest` pointer file;
    /// or a directory holding `latest` (a checkpoint directory) or `checkpoints/latest` (a run directory).
    public static func resolve(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CheckpointError.unreadable(path: path, detail: "no such file or directory")
        }
        if isDirectory.boolValue {
            for directory in [path, (path as NSString).appendingPathComponent("checkpoints")] {
                let store = CheckpointStore(existing: directory)
                if FileManager.default.fileExists(atPath: store.path("latest")) {
                    guard let pointed = try store.pointedName() else { break }
                    return store.path(pointed)
                }
                if let newest = store.list().first { return newest }
            }
            throw CheckpointError.unreadable(path: path, detail: "a directory without checkpoints (no latest, no step-*.ckpt, no checkpoints/ folder with them)")
        }
        if ["latest", "best"].contains((path as NSString).lastPathComponent) {
            let store = CheckpointStore(existing: (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent)
            if let pointed = try store.pointedName((path as NSString).lastPathComponent) { return store.path(pointed) }
        }
        return path
    }

    /// A store over a directory that is only read (not created).
    private init(existing directory: String) {
        self.directory = directory
        keepLast = 1
        keepEvery = nil
    }
}
