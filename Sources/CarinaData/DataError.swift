// The error type of the data layer: which file (or shard member) is bad, and what is wrong with it.
// Not for: errors of the tensor, distributed or checkpoint layers, which have their own types.

public enum DataError: Error, CustomStringConvertible, Equatable {
    /// An image that cannot be read, decoded or encoded; `source` is its path or shard member name.
    case badImage(source: String, problem: String)
    /// A report, vocabulary or other text that cannot be read or used.
    case badText(source: String, problem: String)
    /// A sample of a dataset that could not be loaded (index within the dataset the loader reads).
    case badSample(index: Int, detail: String)

    public var description: String {
        switch self {
        case let .badImage(source, problem):
            return "image \(source): \(problem)"
        case let .badText(source, problem):
            return "\(source): \(problem)"
        case let .badSample(index, detail):
            return "sample \(index): \(detail)"
        }
    }
}
