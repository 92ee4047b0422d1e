// The error type of the checkpoint layer: what was being read or written, and what is wrong with it.
// Not for: errors of the tensor, data or distributed layers, which have their own types.

public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    /// zstd refused to compress or decompress; `context` names the file or tensor, `detail` is zstd's reason.
    case zstd(context: String, operation: String, detail: String)
    /// A checkpoint file that is unreadable, truncated, corrupt or not a checkpoint.
    case corrupt(path: String, detail: String)
    /// A checkpoint that does not fit the model or optimizer it is loaded into.
    case mismatch(path: String, detail: String)
    /// A file system operation failed.
    case io(path: String, detail: String)

    public var description: String {
        switch self {
        case let .zstd(context, operation, detail):
            return "\(context): zstd \(operation) failed: \(detail)"
        case let .corrupt(path, detail):
            return "checkpoint \(path): \(detail)"
        case let .mismatch(path, detail):
            return "checkpoint \(path) does not fit: \(detail)"
        case let .io(path, detail):
            return "\(path): \(detail)"
        }
    }
}
