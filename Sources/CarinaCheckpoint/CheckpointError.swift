// The error type of the checkpoint layer: what was being read or written, and what is wrong with it.
// Not for: errors of the tensor, data or distributed layers, which have their own types.

import CarinaData

public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    /// zstd refused to compress or decompress; `context` names the file or tensor, `detail` is zstd's reason.
    case zstd(context: String, operation: String, detail: String)
    /// The file cannot be opened or read (missing, a directory, permissions, I/O error).
    case unreadable(path: String, detail: String)
    /// The file ends before the manifest says it should: an interrupted copy or a full disk.
    case truncated(path: String, detail: String)
    /// A checkpoint file that is not one, or whose header or manifest is damaged.
    case corrupt(path: String, detail: String)
    /// One tensor's frames are damaged (zstd failure or checksum mismatch).
    case corruptTensor(path: String, tensor: String, detail: String)
    /// A checkpoint that does not fit the model or optimizer it is loaded into.
    case mismatch(path: String, detail: String)
    /// A file that claims more memory than this machine has (a file from elsewhere, or a forged size).
    case tooLarge(path: String, detail: String)
    /// Writing, syncing or renaming a file failed.
    case io(path: String, detail: String)

    public var description: String {
        switch self {
        case let .zstd(context, operation, detail):
            return "\(context): zstd \(operation) failed: \(detail)"
        case let .unreadable(path, detail):
            return "checkpoint \(path): unreadable: \(detail)"
        case let .truncated(path, detail):
            return "checkpoint \(path): truncated: \(detail)"
        case let .corrupt(path, detail):
            return "checkpoint \(path): corrupt: \(detail)"
        case let .corruptTensor(path, tensor, detail):
            return "checkpoint \(path): tensor '\(tensor)' is corrupt: \(detail)"
        case let .mismatch(path, detail):
            return "checkpoint \(path) does not fit: \(detail)"
        case let .tooLarge(path, detail):
            return "checkpoint \(path) is too large to read: \(detail)"
        case let .io(path, detail):
            return "\(path): \(detail)"
        }
    }

    /// One word for what went wrong, as `CheckpointStore.latestValid` reports skipped files.
    public var kind: String {
        switch self {
        case .zstd, .corrupt, .corruptTensor: return "corrupt"
        case .unreadable, .io: return "unreadable"
        case .truncated: return "truncated"
        case .mismatch: return "mismatch"
        case .tooLarge: return "too large"
        }
    }
}

extension CheckpointError {
    /// Runs a durable write (AtomicFile) and reports its failure as this layer's I/O error, naming the file.
    static func writing(_ body: () throws -> Void) throws {
        do { try body() } catch let error as FileWriteError { throw CheckpointError.io(path: error.path, detail: error.detail) }
    }
}
