// What the safetensors reader does with the dtypes public weights come in, and with hostile headers: F16 and
// BF16 widened to Float32 bit-exactly, integer buffers (BERT's position_ids) listed and not read, unknown
// dtypes, sizes that disagree with the dtype, headers past their limit or the file, and offsets with holes,
// overlaps or trailing bytes: each an error naming the file (and the tensor where there is one), raised
// before anything sized by the file's claims is allocated. Not for: the exported files (SafeTensorsTests).
import CarinaCheckpoint
import CarinaTensor
import Foundation
import Testing

@Suite struct SafeTensorsDtypeTests {
    /// A safetensors file from a raw header and data, the length prefix computed (padded with spaces).
    func file(_ header: String, data: [UInt8] = [], name: String = "w.safetensors", length: UInt64? = nil) throws -> String {
        let path = try temporaryDirectory() + "/" + name
        var bytes = Array(header.utf8)
        while bytes.count % 8 != 0 { bytes.append(0x20) }
        let n = length ?? UInt64(bytes.count)
        try Data((0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * $0)) } + bytes + data).write(to: URL(fileURLWithPath: path))
        return path
    }

    func le16(_ values: [UInt16]) -> [UInt8] { values.flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] } }

    @Test func f16AndBF16AreWidenedToFloat32Exactly() throws {
        // F16: 1, -2.5, 65504 (largest), 2^-24 (smallest subnormal), -0, inf. BF16: 1, -2.5, 3.3895e38, 2^-133 (subnormal).
        let half: [UInt16] = [0x3c00, 0xc100, 0x7bff, 0x0001, 0x8000, 0x7c00]
        let brain: [UInt16] = [0x3f80, 0xc020, 0x7f7f, 0x0001]
        let path = try file(#"{"h":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},"b":{"dtype":"BF16","shape":[4],"data_offsets":[12,20]}}"#,
                            data: le16(half) + le16(brain))
        let read = Dictionary(uniqueKeysWithValues: try SafeTensors.read(path).map { ($0.name, $0.tensor) })
        let h = try #require(read["h"]), b = try #require(read["b"])
        #expect(h.shape == [2, 3] && b.shape == [4])
        #expect(h.scalars.map(\.bitPattern) == [Float(1), -2.5, 65504, Float(bitPattern: 0x3380_0000), -0.0, .infinity].map(\.bitPattern))
        #expect(b.scalars.map(\.bitPattern) == [0x3f80_0000, 0xc020_0000, 0x7f7f_0000, 0x0001_0000])
        // Chunked widening: a tensor larger than one read chunk (2^16 elements) keeps every value in place.
        let n = (1 << 16) + 5
        let values = (0..<n).map { UInt16(truncatingIfNeeded: $0 % 2048) }  // 0 ..< 2^-14 * 2: subnormals and small normals
        let big = try file("{\"x\":{\"dtype\":\"F16\",\"shape\":[\(n)],\"data_offsets\":[0,\(2 * n)]}}", data: le16(values), name: "big.safetensors")
        let x = try #require(try SafeTensors.read(big).first?.tensor)
        #expect(x.count == n && (0..<n).allSatisfy { x.pointer[$0] == Float(Float16(bitPattern: values[$0])) })
    }

    @Test func integerBuffersAreListedNotReadAndRefusedWhereFloatsAreRequired() throws {
        let path = try file(#"{"embeddings.position_ids":{"dtype":"I64","shape":[1,2],"data_offsets":[0,16]},"w":{"dtype":"F32","shape":[1],"data_offsets":[16,20]}}"#,
                            data: [UInt8](repeating: 0, count: 16) + [0, 0, 0x80, 0x3f])
        let contents = try SafeTensors.readContents(path)
        #expect(contents.tensors.map(\.name) == ["w"] && contents.tensors[0].tensor.scalars == [1])
        #expect(contents.skipped.map(\.name) == ["embeddings.position_ids"] && contents.skipped.map(\.dtype) == ["I64"])
        #expect(errorText { _ = try SafeTensors.read(path) } == "checkpoint \(path): corrupt: safetensors: tensor 'embeddings.position_ids': dtype I64; Carina reads F32, F16 and BF16")
        // An integer buffer's size is checked like any tensor's.
        let short = try file(#"{"ids":{"dtype":"I64","shape":[3],"data_offsets":[0,16]}}"#, data: [UInt8](repeating: 0, count: 16))
        #expect(errorText { _ = try SafeTensors.readContents(short) } == "checkpoint \(short): corrupt: safetensors: tensor 'ids': data_offsets [0, 16] hold 16 bytes, shape [3] of I64 needs 24")
    }

    @Test func hostileHeadersAreErrorsNamingTheFileAndTensor() throws {
        func error(_ header: String, data: [UInt8] = [], length: UInt64? = nil) throws -> String {
            let path = try file(header, data: data, length: length)
            return (errorText { _ = try SafeTensors.readContents(path) } ?? "no error").replacingOccurrences(of: path, with: "FILE")
        }
        let w = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        #expect(try error(w, data: [UInt8](repeating: 0, count: 8)) == "no error")
        #expect(try error(w, length: 1 << 40) == "checkpoint FILE: corrupt: safetensors: impossible header length 1099511627776")
        #expect(try error(w, length: 4096).hasPrefix("checkpoint FILE: truncated: safetensors: the header needs bytes 8..<4104"))
        #expect(try error(w, data: [UInt8](repeating: 0, count: 4)) == "checkpoint FILE: truncated: safetensors: the tensors need 8 data bytes, the file holds 4")
        #expect(try error(w, data: [UInt8](repeating: 0, count: 12)) == "checkpoint FILE: corrupt: safetensors: 4 bytes after the last tensor")
        #expect(try error(#"{"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}"#).hasPrefix("checkpoint FILE: corrupt: safetensors: tensor 'w': unknown dtype \"Q4\""))
        #expect(try error(#"{"w":{"dtype":"F16","shape":[3],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])
                == "checkpoint FILE: corrupt: safetensors: tensor 'w': data_offsets [0, 4] hold 4 bytes, shape [3] of F16 needs 6")
        #expect(try error(#"{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#).contains("tensor 'w': impossible shape [-2]"))
        #expect(try error(#"{"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,10]}}"#).contains("tensor 'w': needs dtype, shape and two data_offsets"))
        #expect(try error(#"{"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}}"#).contains("tensor 'w': impossible shape"))
        let overlap = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        #expect(try error(overlap, data: [UInt8](repeating: 0, count: 12)).contains("tensor 'b' starts at data byte 4, expected 8"))
        let hole = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        #expect(try error(hole, data: [UInt8](repeating: 0, count: 12)).contains("tensor 'b' starts at data byte 8, expected 4 (offsets must be contiguous"))
        #expect(try error("[1, 2]") == "checkpoint FILE: corrupt: safetensors: the header does not start with '{'")
        #expect(try error("{\"w\": ") == "checkpoint FILE: corrupt: safetensors: the header is not a JSON object")
        #expect(try error(#"{"__metadata__":{"n":3}}"#) == "checkpoint FILE: corrupt: safetensors: __metadata__ is not an object of strings")
    }
}
