// safetensors files (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of JSON
// ({"NAME": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {string: string}}, padded with
// spaces so the data starts 8-byte aligned), then the raw little-endian tensor bytes, contiguous, no holes.
// What `carina checkpoint export` writes for PyTorch users, and how Hugging Face weights are read (F16 and BF16
// widened to Float32). Not for: Carina's own checkpoints (CheckpointFile).
import CarinaData
import CarinaTensor
import Foundation

public enum SafeTensors {
    /// The largest header the reference implementation accepts.
    static let maximumHeaderBytes = 100_000_000

    /// Writes Float32 tensors (in the given order, names as given) and string metadata to `path`
    /// atomically. Names must be unique and must not be "__metadata__".
    public static func write(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String], to path: String) throws {
        var header = "{"
        if !metadata.isEmpty {
            header += json("__metadata__") + ":{" + metadata.keys.sorted().map { json($0) + ":" + json(metadata[$0]!) }.joined(separator: ",") + "},"
        }
        var seen: Set<String> = ["__metadata__"]
        var offset = 0
        var entries: [String] = []
        for (name, t) in tensors {
            guard seen.insert(name).inserted else {
                throw CheckpointError.io(path: path, detail: "cannot export: " + (name == "__metadata__" ? "a tensor is named __metadata__" : "two tensors are named '\(name)'"))
            }
            let end = offset + t.count * 4
            entries.append(json(name) + ":{\"dtype\":\"F32\",\"shape\":[" + t.shape.map(String.init).joined(separator: ",")
                           + "],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        header += entries.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        // Pad with spaces so that 8 + N is a multiple of 8 (the data then starts aligned for any dtype).
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }
        var prefix: [UInt8] = []
        append(&prefix, UInt64(headerBytes.count))
        var parts = [prefix, headerBytes]
        for (_, t) in tensors {
            parts.append([UInt8](UnsafeRawBufferPointer(start: t.pointer, count: t.count * 4)))  // little-endian hosts only (x86-64, arm64)
        }
        try CheckpointError.writing { try AtomicFile.write(parts, to: path) }
    }

    /// Reads a safetensors file of floating-point tensors (F32, or F16 / BF16 converted to Float32), in the
    /// order of their data; any other dtype, a bad header, overlapping or non-contiguous offsets, or a size
    /// mismatch is an error naming the file and tensor.
    public static func read(_ path: String) throws -> [(name: String, tensor: Tensor)] {
        try readWithMetadata(path).tensors
    }

    /// The tensors and the `__metadata__` strings of a safetensors file.
    public static func readWithMetadata(_ path: String) throws -> (tensors: [(name: String, tensor: Tensor)], metadata: [String: String]) {
        let contents = try readContents(path)
        if let (name, dtype) = contents.skipped.first {
            throw CheckpointError.corrupt(path: path, detail: "safetensors: tensor '\(name)': dtype \(dtype); Carina reads F32, F16 and BF16")
        }
        return (contents.tensors, contents.metadata)
    }

    /// What a safetensors file holds: its floating-point tensors as Float32, its metadata, and the names and
    /// dtypes of the tensors that are not floating point (integer or boolean buffers such as BERT's
    /// `position_ids`), which are checked like the others but not read.
    public struct Contents {
        public var tensors: [(name: String, tensor: Tensor)]
        public var metadata: [String: String]
        public var skipped: [(name: String, dtype: String)]
    }

    /// Bytes per element of each dtype the format defines; F32, F16 and BF16 are read.
    static let dtypeBytes: [String: Int] = ["F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "U64": 8, "I32": 4, "U32": 4,
                                            "I16": 2, "U16": 2, "I8": 1, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1]
    static let readable: Set<String> = ["F32", "F16", "BF16"]

    /// Reads `path` as untrusted input: the header length is bounded (100 MB) and inside the file, every
    /// entry's dtype, shape and offsets are checked against each other and the offsets must tile the data
    /// exactly, and the memory the tensors need is checked, all before any tensor is allocated.
    public static func readContents(_ path: String) throws -> Contents {
        func bad(_ detail: String) -> CheckpointError { .corrupt(path: path, detail: "safetensors: " + detail) }
        let file = try ReadOnlyFile(path: path)
        guard file.size >= 8 else { throw CheckpointError.truncated(path: path, detail: "safetensors: \(file.size) bytes, less than the 8-byte header length") }
        let length = try file.bytes(at: 0, count: 8).withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> UInt64 in load(bytes, 0) }
        guard length >= 2, length <= UInt64(maximumHeaderBytes) else { throw bad("impossible header length \(length)") }
        guard 8 + Int(length) <= file.size else {
            throw CheckpointError.truncated(path: path, detail: "safetensors: the header needs bytes 8..<\(8 + Int(length)), the file has \(file.size)")
        }
        let headerData = Data(try file.bytes(at: 8, count: Int(length)))
        guard headerData.first == UInt8(ascii: "{") else { throw bad("the header does not start with '{'") }
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw bad("the header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let strings = raw as? [String: String] else { throw bad("__metadata__ is not an object of strings") }
            metadata = strings
        }
        struct Entry { var name: String, dtype: String, shape: [Int], elements: Int, begin: Int, end: Int }
        var entries: [Entry] = []
        for (name, value) in header where name != "__metadata__" {
            func badTensor(_ detail: String) -> CheckpointError { bad("tensor '\(name)': " + detail) }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = integers(info["shape"]), let offsets = integers(info["data_offsets"]), offsets.count == 2 else {
                throw badTensor("needs dtype, shape and two data_offsets (whole numbers below 9e18)")
            }
            guard let width = dtypeBytes[dtype] else {
                throw badTensor("unknown dtype \(dtype.prefix(40).debugDescription) (the format's are \(dtypeBytes.keys.sorted().joined(separator: ", ")))")
            }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1] else { throw badTensor("impossible shape \(shape) or offsets \(offsets)") }
            var elements = 1
            for extent in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: extent)
                guard !overflow, product <= Int.max / width else { throw badTensor("impossible shape \(shape)") }
                elements = product
            }
            guard offsets[1] - offsets[0] == elements * width else {
                throw badTensor("data_offsets \(offsets) hold \(offsets[1] - offsets[0]) bytes, shape \(shape) of \(dtype) needs \(elements * width)")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, elements: elements, begin: offsets[0], end: offsets[1]))
        }
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        let dataStart = 8 + Int(length)
        var expected = 0
        for e in entries {
            guard e.begin == expected else {
                throw bad("tensor '\(e.name)' starts at data byte \(e.begin), expected \(expected) (offsets must be contiguous, without holes or overlaps)")
            }
            expected = e.end
        }
        guard expected <= file.size - dataStart else {
            throw CheckpointError.truncated(path: path, detail: "safetensors: the tensors need \(expected) data bytes, the file holds \(file.size - dataStart)")
        }
        guard expected == file.size - dataStart else { throw bad("\(file.size - dataStart - expected) bytes after the last tensor") }
        let read = entries.filter { readable.contains($0.dtype) }
        let needed = read.reduce(0) { $0 + $1.elements * 4 }  // as Float32; no overflow: the data fits the file, and widening at most doubles it
        guard needed <= PhysicalMemory.bytes else {
            throw CheckpointError.tooLarge(path: path, detail: "its tensors need \(PhysicalMemory.gib(needed)) of memory as Float32, this machine has \(PhysicalMemory.gib(PhysicalMemory.bytes))")
        }
        // F32 bytes go straight from the file into the tensor: memory is the tensors, never the file twice.
        // F16 and BF16 are read in chunks and widened.
        let tensors = try read.map { e -> (name: String, tensor: Tensor) in
            let t = Tensor(uninitialized: e.shape)
            if e.dtype == "F32" {
                try file.read(at: dataStart + e.begin, into: UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(t.pointer), count: e.end - e.begin))
            } else {
                let chunk = 1 << 16
                var done = 0
                var half = [UInt16](repeating: 0, count: min(chunk, e.elements))
                while done < e.elements {
                    let n = min(chunk, e.elements - done)
                    try half.withUnsafeMutableBytes { raw in
                        try file.read(at: dataStart + e.begin + 2 * done, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<(2 * n)]))
                    }
                    let out = t.pointer + done
                    if e.dtype == "BF16" {
                        for i in 0..<n { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: half[i])) << 16) }
                    } else {
                        for i in 0..<n { out[i] = Float(Float16(bitPattern: UInt16(littleEndian: half[i]))) }
                    }
                    done += n
                }
            }
            t.name = e.name
            return (e.name, t)
        }
        return Contents(tensors: tensors, metadata: metadata, skipped: entries.filter { !readable.contains($0.dtype) }.map { ($0.name, $0.dtype) })
    }

    /// A JSON array of whole numbers that fit an Int, or nil (a string, a fraction or 1e30 is not a size).
    static func integers(_ value: Any?) -> [Int]? {
        guard let array = value as? [Any], array.count <= 64 else { return nil }
        var out: [Int] = []
        for item in array {
            guard let number = item as? NSNumber, let double = Double(exactly: number.doubleValue), double.rounded() == double,
                  abs(double) < 9.0e18, Double(number.int64Value) == double else { return nil }
            out.append(Int(number.int64Value))
        }
        return out
    }

    /// `s` as a JSON string literal.
    static func json(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
