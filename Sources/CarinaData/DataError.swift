// The error type of the data layer: which file (or shard member, or manifest row) is bad, and what is wrong.
// Not for: errors of the tensor, distributed or checkpoint layers, which have their own types.

public enum DataError: Error, CustomStringConvertible, Equatable {
    /// An image that cannot be read, decoded or encoded; `source` is its path or shard member name.
    case badImage(source: String, problem: String)
    /// A report, vocabulary or other text that cannot be read or used.
    case badText(source: String, problem: String)
    /// A sample of a dataset that could not be loaded (index within the dataset the loader reads).
    case badSample(index: Int, detail: String)
    /// A record of a dataset's own files (manifest row, label CSV row, report XML) that cannot be imported.
    /// `record` says which one ("row 5 (line 6)", "parentImage CXR1_1_IM-0001-3001"); `column` the field.
    case badRecord(file: String, record: String, column: String?, problem: String)
    /// A shard tar file, or one member of it, that is damaged or does not match the index.
    case badShard(file: String, member: String?, problem: String)
    /// A prepared dataset directory (dataset.json, index, splits) that cannot be read or written.
    case badDataset(path: String, problem: String)
    /// A sample that cannot be stored as it is (key not file-name safe, duplicate key, label not a number).
    case invalidSample(key: String, problem: String)

    public var description: String {
        switch self {
        case let .badImage(source, problem):
            return "image \(source): \(problem)"
        case let .badText(source, problem):
            return "\(source): \(problem)"
        case let .badSample(index, detail):
            return "sample \(index): \(detail)"
        case let .badRecord(file, record, column, problem):
            let field = column.map { ", column '\($0)'" } ?? ""
            return "\(file), \(record)\(field): \(problem)"
        case let .badShard(file, member, problem):
            let where_ = member.map { ", member \($0)" } ?? ""
            return "shard \(file)\(where_): \(problem)"
        case let .badDataset(path, problem):
            return "dataset \(path): \(problem)"
        case let .invalidSample(key, problem):
            return "sample '\(key)': \(problem)"
        }
    }
}
