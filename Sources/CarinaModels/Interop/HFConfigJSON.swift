// A Hugging Face config.json read as untrusted input: bounded in size, a JSON object, and each key Carina
// depends on checked for type and range by an accessor whose error names the file and the key (nested
// sections by their path, "text_config.hidden_size"). HFTextModel and HFCLIPModel read their configs with it.
// Not for: what the keys mean (the model readers) or the weights.
import CarinaData
import CarinaNN
import Foundation

struct HFConfigJSON {
    let path: String
    let object: [String: Any]
    /// "" for the top level, "text_config." for a nested section: prefixes key names in errors.
    let prefix: String

    /// The largest config.json read (BERT's is under 1 kB, CLIP's 5 kB).
    static let maxBytes = 1 << 20

    /// `directory`/`file`, after checking that `directory` is one (`names` says what the scheme names, for that error).
    static func read(directory: String, file: String = "config.json",
                     names: String = "hf: names a Hugging Face model directory with config.json and model.safetensors") throws -> HFConfigJSON {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw InteropError(file: directory, "not a directory (\(names))")
        }
        let path = directory + "/" + file
        let bytes: [UInt8]
        do { bytes = try FileBytes.contents(of: path, maxBytes: maxBytes) } catch {
            throw InteropError(file: path, "cannot read the model config: \(error)")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw InteropError(file: path, "not a JSON object")
        }
        return HFConfigJSON(path: path, object: object, prefix: "")
    }

    /// The nested object under `key` (CLIP's text_config, vision_config).
    func section(_ key: String) throws -> HFConfigJSON {
        guard let nested = object[key] as? [String: Any] else {
            throw InteropError(file: path, "'\(prefix)\(key)' is \(object[key] == nil ? "missing" : "not a JSON object")")
        }
        return HFConfigJSON(path: path, object: nested, prefix: prefix + key + ".")
    }

    func integer(_ key: String, _ range: ClosedRange<Int>, default value: Int? = nil) throws -> Int {
        guard let raw = object[key], !(raw is NSNull) else {
            if let value { return value }
            throw InteropError(file: path, "'\(prefix)\(key)' is missing")
        }
        guard let number = raw as? NSNumber, let double = Double(exactly: number.doubleValue), double.rounded() == double,
              abs(double) < 1e15, range.contains(Int(double)) else {
            throw InteropError(file: path, "'\(prefix)\(key)' is \(String(describing: raw).prefix(40)); it must be a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return Int(double)
    }

    /// A number strictly inside `range` (LayerNorm's epsilon).
    func number(_ key: String, inside range: ClosedRange<Double>, default value: Double) throws -> Float {
        let raw = object[key] ?? value
        guard let number = raw as? NSNumber, number.doubleValue > range.lowerBound, number.doubleValue < range.upperBound else {
            throw InteropError(file: path, "'\(prefix)\(key)' is \(String(describing: raw).prefix(40)); it must be a number in (\(range.lowerBound), \(range.upperBound))")
        }
        return number.floatValue
    }

    func string(_ key: String) throws -> String? {
        guard let raw = object[key], !(raw is NSNull) else { return nil }
        guard let text = raw as? String else { throw InteropError(file: path, "'\(prefix)\(key)' is \(String(describing: raw).prefix(40)); it must be a string") }
        return text
    }

    func flag(_ key: String) -> Bool { (object[key] as? Bool) == true }

    /// `hidden_act` as one of Carina's activations: "gelu" (exact, erf) or "quick_gelu" (OpenAI CLIP); others
    /// are refused naming the key.
    func activation(default value: String, allowed: [Activation] = [.gelu, .quickGELU]) throws -> Activation {
        let name = try string("hidden_act") ?? value
        guard let activation = Activation(rawValue: name), allowed.contains(activation) else {
            throw InteropError(file: path, "'\(prefix)hidden_act' is \(name.debugDescription); Carina computes "
                               + allowed.map { "\"\($0.rawValue)\"" }.joined(separator: " and ") + " here")
        }
        return activation
    }
}
