// Exported safetensors files follow the format's specification, checked by a parser written here from the
// spec (not Carina's reader): 8-byte little-endian header length, a JSON object header starting with '{',
// data aligned to 8 bytes, F32 entries with contiguous offsets covering the data exactly. Not for: Carina's checkpoints.
import CarinaCheckpoint
import CarinaTensor
import Foundation
import Testing

@Suite struct SafeTensorsTests {
    let tensors: [(name: String, tensor: Tensor)] = {
        var rng = RNG(seed: 5, "safetensors")
        return [("visual.patch_embed.weight", Tensor.normal([4, 1, 2, 2], rng: &rng)), ("visual.cls_token", Tensor.normal([1, 1, 3], rng: &rng)),
                ("logit_scale", Tensor(2.5)), ("text.\"odd\" name\\é", Tensor.normal([5], rng: &rng)), ("empty", Tensor.zeros([0]))]
    }()

    @Test func writtenFileParsesPerTheSpecification() throws {
        let path = try temporaryDirectory() + "/model.safetensors"
        try SafeTensors.write(tensors, metadata: ["format": "pt", "carina_step": "12"], to: path)
        let file = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let n = (0..<8).reduce(0) { $0 | Int(file[$1]) << (8 * $1) }
        #expect(file[8] == UInt8(ascii: "{"))
        #expect((8 + n) % 8 == 0, "the data must start 8-byte aligned")
        let close = try #require(file[8..<(8 + n)].lastIndex(of: UInt8(ascii: "}")))
        #expect(file[(close + 1)..<(8 + n)].allSatisfy { $0 == 0x20 }, "the header is JSON padded with spaces only")
        let header = try #require(try JSONSerialization.jsonObject(with: Data(file[8..<(8 + n)])) as? [String: Any])
        #expect(header["__metadata__"] as? [String: String] == ["format": "pt", "carina_step": "12"])
        var spans: [(begin: Int, end: Int, name: String)] = []
        for (name, t) in tensors {
            let entry = try #require(header[name] as? [String: Any], "\(name) missing from the header")
            #expect(entry["dtype"] as? String == "F32")
            #expect(entry["shape"] as? [Int] == t.shape)
            let offsets = try #require(entry["data_offsets"] as? [Int])
            #expect(offsets.count == 2 && offsets[1] - offsets[0] == t.count * 4)
            spans.append((offsets[0], offsets[1], name))
            let raw = Array(file[(8 + n + offsets[0])..<(8 + n + offsets[1])])
            #expect(raw == t.scalars.withUnsafeBytes { Array($0) }, "\(name): the data is the raw little-endian floats")
        }
        #expect(header.count == tensors.count + 1)
        spans.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        #expect(spans.first?.begin == 0 && spans.last?.end == file.count - 8 - n, "the offsets cover the data exactly")
        #expect(zip(spans, spans.dropFirst()).allSatisfy { $0.end == $1.begin }, "the offsets are contiguous")
    }

    @Test func carinasReaderRoundTripsNamesValuesAndMetadata() throws {
        let path = try temporaryDirectory() + "/model.safetensors"
        try SafeTensors.write(tensors, metadata: ["format": "pt"], to: path)
        let (read, metadata) = try SafeTensors.readWithMetadata(path)
        #expect(metadata == ["format": "pt"])
        #expect(read.map(\.name) == tensors.map(\.name))
        #expect(zip(read, tensors).allSatisfy { $0.tensor.shape == $1.tensor.shape && bits($0.tensor) == bits($1.tensor) })
    }

    @Test func aDamagedFileIsAnErrorNamingFileAndTensor() throws {
        let path = try temporaryDirectory() + "/model.safetensors"
        try SafeTensors.write(tensors, metadata: [:], to: path)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count - 4).write(to: URL(fileURLWithPath: path))
        #expect(errorText { _ = try SafeTensors.read(path) }?.hasPrefix("checkpoint \(path): truncated: safetensors: ") == true)
        let text = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\"shape\":[5]", with: "\"shape\":[6]")
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let error = errorText { _ = try SafeTensors.read(path) } ?? "no error"
        #expect(error.contains("tensor 'text.\"odd\" name\\é'") && error.contains("shape [6] of F32 needs 24"), "\(error)")
    }
}
