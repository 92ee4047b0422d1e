// YAML configs into Codable structs with three guarantees: a key the user omits takes the struct's default,
// an unknown key is rejected with its dotted path (and the nearest known key), and a value of the wrong type
// is rejected with its path and what was expected. Not for: what the keys mean (each config struct
// documents its own keys).
import CYaml  // libyaml, as Yams vendors it: its event stream is checked before Yams builds any value
import CarinaData
import CarinaModels
import Foundation
import Yams

/// A config mistake, named with the file and key (defined beside the method interface, which throws it too).
public typealias ConfigError = CarinaModels.ConfigError

public enum ConfigLoader {
    /// The top-level mapping of a YAML text (from `source`, named in errors); empty text is an empty mapping.
    public static func mapping(yaml: String, source: String) throws -> [String: Any] {
        try checkShape(yaml: yaml, source: source)
        let loaded: Any?
        do {
            loaded = try Yams.load(yaml: yaml)
        } catch {
            throw ConfigError("\(source): not valid YAML: \(error)")
        }
        guard let map = (loaded ?? [String: Any]()) as? [String: Any] else {
            throw ConfigError("\(source): the top level must be a mapping of keys to values")
        }
        return map
    }

    /// The largest config text accepted (a real config is a few KiB).
    public static let maximumBytes = 1 << 20
    /// The deepest nesting of mappings and sequences accepted (Carina's configs nest three or four levels).
    public static let maximumDepth = 32

    /// Checks a YAML text's shape from libyaml's event stream before any value is built: at most
    /// `maximumBytes`, nesting at most `maximumDepth`, mapping keys that are plain values (Yams traps on a
    /// key that is a mapping or list), and no anchors or aliases — an alias is expanded
    /// into a copy of what it names, so nine aliases of nine aliases ("billion laughs") build a billion
    /// values from a few hundred bytes. Carina's configs never need them; the error names the line.
    static func checkShape(yaml: String, source: String) throws {
        let bytes = Array(yaml.utf8)
        guard bytes.count <= maximumBytes else {
            throw ConfigError("\(source): \(bytes.count) bytes; a config is at most \(maximumBytes) bytes")
        }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw ConfigError("\(source): cannot start the YAML parser") }
        defer { yaml_parser_delete(&parser) }
        try bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            // Per open container: whether it is a mapping and, if so, whether its next node is a key.
            var containers: [(mapping: Bool, expectingKey: Bool)] = []
            var depth: Int { containers.count }
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    let problem = parser.problem.map { String(cString: $0) } ?? "unknown problem"
                    throw ConfigError("\(source):\(parser.problem_mark.line + 1): not valid YAML: \(problem)")
                }
                defer { yaml_event_delete(&event) }
                let line = event.start_mark.line + 1
                func anchor(_ pointer: UnsafeMutablePointer<yaml_char_t>?) throws {
                    guard let pointer else { return }
                    let name = String(cString: UnsafeRawPointer(pointer).assumingMemoryBound(to: CChar.self))
                    throw ConfigError("\(source):\(line): YAML anchors and aliases are not accepted in a config (&\(name)); write the value out")
                }
                // A key that is itself a mapping or sequence: Yams cannot build it (it traps), and no config has one.
                if event.type == YAML_SEQUENCE_START_EVENT || event.type == YAML_MAPPING_START_EVENT,
                   let parent = containers.last, parent.mapping, parent.expectingKey {
                    throw ConfigError("\(source):\(line): a mapping key must be a plain value, not a mapping or a list")
                }
                // The node this event starts or is fills a slot of its parent: a mapping alternates key, value.
                let startsNode = [YAML_SCALAR_EVENT, YAML_ALIAS_EVENT, YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT].contains(event.type)
                if startsNode, let last = containers.indices.last, containers[last].mapping { containers[last].expectingKey.toggle() }
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return
                case YAML_ALIAS_EVENT:
                    let name = String(cString: UnsafeRawPointer(event.data.alias.anchor).assumingMemoryBound(to: CChar.self))
                    throw ConfigError("\(source):\(line): YAML anchors and aliases are not accepted in a config (*\(name)); write the value out")
                case YAML_SCALAR_EVENT:
                    try anchor(event.data.scalar.anchor)
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    try anchor(event.type == YAML_SEQUENCE_START_EVENT ? event.data.sequence_start.anchor : event.data.mapping_start.anchor)
                    containers.append((mapping: event.type == YAML_MAPPING_START_EVENT, expectingKey: true))
                    guard depth <= maximumDepth else {
                        throw ConfigError("\(source):\(line): nested more than \(maximumDepth) levels deep")
                    }
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    containers.removeLast()
                default:
                    break
                }
            }
        }
    }

    /// Decodes `yaml` (from `source`, named in errors) over `defaults`.
    public static func decode<T: Codable>(_ type: T.Type, yaml: String, defaults: T, source: String) throws -> T {
        try decode(type, values: mapping(yaml: yaml, source: source), defaults: defaults, source: source)
    }

    /// The text of the config file at `path`: a regular UTF-8 file of at most `maximumBytes`.
    public static func text(_ path: String) throws -> String {
        do {
            return try TextFile.read(path, limit: maximumBytes, what: "the config file")
        } catch {
            throw ConfigError("\(error)")
        }
    }

    /// Decodes a file.
    public static func decode<T: Codable>(_ type: T.Type, path: String, defaults: T) throws -> T {
        let text = try ConfigLoader.text(path)
        return try decode(type, yaml: text, defaults: defaults, source: path)
    }

    /// Decodes already-parsed values over `defaults`; `path` is where they sit in the file ("model",
    /// "train.stages.1"), for errors.
    public static func decode<T: Codable>(_ type: T.Type, values: [String: Any], defaults: T, source: String, path: String = "") throws -> T {
        let base = try plain(defaults)
        let merged = try merge(values, into: base, path: path, source: source)
        let data = try JSONSerialization.data(withJSONObject: merged, options: [.sortedKeys])
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let DecodingError.typeMismatch(expected, context) {
            throw ConfigError("\(source): key '\(dotted(path, context.codingPath))': expected \(describe(expected)), got \(found(merged, context.codingPath))")
        } catch let DecodingError.dataCorrupted(context) {
            throw ConfigError("\(source): key '\(dotted(path, context.codingPath))': \(context.debugDescription)")
        } catch let DecodingError.valueNotFound(expected, context) {
            throw ConfigError("\(source): key '\(dotted(path, context.codingPath))': expected \(describe(expected)), got nothing")
        } catch {
            throw ConfigError("\(source): \(error)")
        }
    }

    /// A value as JSON-compatible plain objects (dictionaries, arrays, numbers, strings, booleans).
    public static func plain<T: Encodable>(_ value: T) throws -> [String: Any] {
        let data = try JSONEncoder().encode(value)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ConfigError("config defaults of \(T.self) are not a mapping")
        }
        return object
    }

    /// The resolved config as YAML (sorted keys), as written into a run directory and checkpoints.
    public static func yaml<T: Encodable>(_ value: T) throws -> String {
        let encoder = YAMLEncoder()
        encoder.options.sortKeys = true
        return try encoder.encode(value)
    }

    /// Overlays `user` on `base`; every user key must exist in `base` (recursively for mappings).
    static func merge(_ user: [String: Any], into base: [String: Any], path: String, source: String) throws -> [String: Any] {
        var out = base
        for key in user.keys.sorted() {
            let full = path.isEmpty ? key : "\(path).\(key)"
            guard let existing = base[key] else {
                let hint = nearest(key, among: Array(base.keys)).map { " (did you mean '\(path.isEmpty ? $0 : "\(path).\($0)")'?)" } ?? ""
                throw ConfigError("\(source): unknown key '\(full)'\(hint); known keys here: \(base.keys.sorted().joined(separator: ", "))")
            }
            if let nestedBase = existing as? [String: Any] {
                guard let nestedUser = user[key] as? [String: Any] else {
                    throw ConfigError("\(source): key '\(full)' must be a mapping with keys \(nestedBase.keys.sorted().joined(separator: ", "))")
                }
                out[key] = try merge(nestedUser, into: nestedBase, path: full, source: source)
            } else if existing is NSNumber, let text = user[key] as? String, let number = Double(text) {
                // YAML 1.1 reads 5e-4 (no dot) as a string; where a number belongs, take it as one.
                out[key] = number
            } else {
                out[key] = user[key]
            }
        }
        return out
    }

    /// The known key closest to `key` by edit distance, if close enough to be a likely typo.
    static func nearest(_ key: String, among keys: [String]) -> String? {
        func distance(_ a: String, _ b: String) -> Int {
            let a = Array(a.lowercased()), b = Array(b.lowercased())
            if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
            var row = Array(0...b.count)
            for i in 1...a.count {
                var previous = row[0]
                row[0] = i
                for j in 1...b.count {
                    let current = row[j]
                    let substitution = previous + (a[i - 1] == b[j - 1] ? 0 : 1)
                    row[j] = min(min(row[j] + 1, row[j - 1] + 1), substitution)
                    previous = current
                }
            }
            return row[b.count]
        }
        var best: (key: String, distance: Int)? = nil
        for candidate in keys.sorted() {
            let d = distance(key, candidate)
            if best == nil || d < best!.distance { best = (candidate, d) }
        }
        guard let best, best.distance <= max(2, key.count / 3) else { return nil }
        return best.key
    }

    static func dotted(_ prefix: String, _ path: [any CodingKey]) -> String {
        ([prefix].filter { !$0.isEmpty } + path.map { $0.intValue.map(String.init) ?? $0.stringValue }).joined(separator: ".")
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int64.Type, is UInt64.Type, is Int32.Type: return "an integer"
        case is Float.Type, is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        default: return "\(type)"
        }
    }

    static func found(_ root: Any, _ path: [any CodingKey]) -> String {
        var node: Any? = root
        for key in path {
            if let i = key.intValue, let list = node as? [Any] { node = i < list.count ? list[i] : nil } else { node = (node as? [String: Any])?[key.stringValue] }
        }
        guard let node else { return "nothing" }
        if let s = node as? String { return "the string '\(s)'" }
        if node is [String: Any] { return "a mapping" }
        if node is [Any] { return "a list" }
        return "'\(node)'"
    }
}
