// The error type of the checkpoint layer: what was being read or written, and what is wrong with it.
// Not for: errors of the tensor, data or distributed layers, which have their own types.

public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    /// zstd refused to compress or decompress; `context` names the file or tensor, `detail` is zstd's reason.
    case zstd(context: String, operation: String, detail: String)

    public var description: String {
        switch self {
        case let .zstd(context, operation, detail):
            return "\(context): zstd \(operation) failed: \(detail)"
        }
    }
}
