// How a method is named in configs and built from its `model:` section: each method's folder defines one
// registration, and CarinaTrain's MethodRegistry lists them (one line per method). The config section is
// decoded through `ConfigSection`, which CarinaTrain implements (unknown keys and wrong types rejected
// with their paths). Not for: the methods themselves.

/// A config mistake, named with the file and key.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Range checks of a config section's keys, each failure naming the file and `path.key`.
public struct ConfigRanges: Sendable {
    public let source: String
    public let path: String

    public init(source: String, path: String) {
        self.source = source
        self.path = path
    }

    public func check(_ key: String, _ value: Int, _ range: ClosedRange<Int>) throws {
        guard range.contains(value) else {
            throw ConfigError("\(source): \(path).\(key) is \(value); it must be in \(range.lowerBound)...\(range.upperBound)")
        }
    }

    /// A finite value in `range`; `open` excludes the upper bound.
    public func check(_ key: String, _ value: Float, _ range: ClosedRange<Float>, open: Bool = false) throws {
        guard value.isFinite, range.contains(value), !(open && value == range.upperBound) else {
            throw ConfigError("\(source): \(path).\(key) is \(value); it must be in \(range.lowerBound)...\(range.upperBound)\(open ? " (excluded)" : "")")
        }
    }
}

/// A method's `model:` mapping as the config file gave it.
public protocol ConfigSection {
    /// The config file, for errors.
    var source: String { get }
    /// The mapping decoded over `defaults`: omitted keys keep the defaults, an unknown key or a value of
    /// the wrong type is an error naming `model.<key>`. The decoded value is what the run records as
    /// its resolved model config.
    func decode<T: Codable>(_ type: T.Type, defaults: T) throws -> T
}

public struct MethodRegistration: Sendable {
    /// The `method:` value of a config.
    public let name: String
    public let summary: String
    /// Builds the method for this data from its config section.
    public let build: @Sendable (_ section: ConfigSection, _ context: MethodContext) throws -> TrainingMethod
    /// A `model:` section, as a JSON object, that builds a very small model for 16-px images and 16-token
    /// contexts: what the data-parallel equivalence check (`carina selftest ddp --method`, the tests) runs.
    public let testModel: String

    public init(name: String, summary: String, testModel: String,
                build: @escaping @Sendable (_ section: ConfigSection, _ context: MethodContext) throws -> TrainingMethod) {
        self.name = name
        self.summary = summary
        self.testModel = testModel
        self.build = build
    }
}
