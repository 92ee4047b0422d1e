// A run's TensorBoard event files, read back by the format's own rules with a reader written here (TFRecord
// lengths and masked CRC32Cs checked bit by bit, Event/Summary/Value protocol buffers decoded field by field):
// one file per process start, file_version first, and exactly metrics.jsonl's values at its steps, across a
// stop and a resume. (scripts/tokenizer-fixtures.py --check-tensorboard RUN reads them with tensorboard.)
import Foundation
import Testing
import CarinaTestSupport
import CarinaTrain

/// CRC-32C bit by bit (no table), TensorFlow's mask on top.
private func maskedCRC32C(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        crc ^= UInt32(b)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
    }
    crc ^= 0xFFFF_FFFF
    return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
}

private struct ReadError: Error, CustomStringConvertible { let description: String }

/// One decoded Event.
private struct Event {
    var wallTime: Double?
    var step: Int64 = 0
    var fileVersion: String?
    var scalars: [(tag: String, value: Float)] = []
}

/// Protocol-buffer fields of a message: (field number, wire type, varint value or the bytes).
private func fields(_ b: ArraySlice<UInt8>) throws -> [(number: UInt64, wire: UInt64, varint: UInt64, bytes: ArraySlice<UInt8>)] {
    var out: [(UInt64, UInt64, UInt64, ArraySlice<UInt8>)] = []
    var i = b.startIndex
    func varint() throws -> UInt64 {
        var v: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard i < b.endIndex, shift < 64 else { throw ReadError(description: "bad varint") }
            let byte = b[i]; i += 1
            v |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return v }
            shift += 7
        }
    }
    while i < b.endIndex {
        let key = try varint()
        let (number, wire) = (key >> 3, key & 7)
        switch wire {
        case 0: out.append((number, wire, try varint(), []))
        case 1, 5:
            let n = wire == 1 ? 8 : 4
            guard i + n <= b.endIndex else { throw ReadError(description: "truncated fixed field") }
            out.append((number, wire, 0, b[i..<(i + n)])); i += n
        case 2:
            let n = Int(try varint())
            guard i + n <= b.endIndex else { throw ReadError(description: "truncated bytes field") }
            out.append((number, wire, 0, b[i..<(i + n)])); i += n
        default: throw ReadError(description: "wire type \(wire)")
        }
    }
    return out
}

private func littleEndian<T: FixedWidthInteger>(_ b: ArraySlice<UInt8>, as: T.Type) -> T {
    b.reversed().reduce(T(0)) { $0 << 8 | T($1) }
}

/// Every record of an event file, CRCs checked, Events decoded.
private func readEvents(_ path: String) throws -> [Event] {
    let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    var events: [Event] = []
    var i = 0
    while i < data.count {
        guard i + 12 <= data.count else { throw ReadError(description: "\(path): torn header at byte \(i)") }
        let length = Int(littleEndian(data[i..<(i + 8)], as: UInt64.self))
        guard maskedCRC32C(data[i..<(i + 8)]) == littleEndian(data[(i + 8)..<(i + 12)], as: UInt32.self) else {
            throw ReadError(description: "\(path): bad length CRC at byte \(i)")
        }
        let body = data[(i + 12)..<(i + 12 + length)]
        guard maskedCRC32C(body) == littleEndian(data[(i + 12 + length)..<(i + 16 + length)], as: UInt32.self) else {
            throw ReadError(description: "\(path): bad data CRC at byte \(i)")
        }
        i += 16 + length
        var event = Event()
        for f in try fields(body) {
            switch (f.number, f.wire) {
            case (1, 1): event.wallTime = Double(bitPattern: littleEndian(f.bytes, as: UInt64.self))
            case (2, 0): event.step = Int64(bitPattern: f.varint)
            case (3, 2): event.fileVersion = String(decoding: f.bytes, as: UTF8.self)
            case (5, 2):
                for v in try fields(f.bytes) {
                    guard v.number == 1, v.wire == 2 else { throw ReadError(description: "unexpected Summary field \(v.number)") }
                    var tag = "", value: Float?
                    for x in try fields(v.bytes) {
                        switch (x.number, x.wire) {
                        case (1, 2): tag = String(decoding: x.bytes, as: UTF8.self)
                        case (2, 5): value = Float(bitPattern: littleEndian(x.bytes, as: UInt32.self))
                        default: throw ReadError(description: "unexpected Value field \(x.number)")
                        }
                    }
                    event.scalars.append((tag, try value ?? { throw ReadError(description: "a Value without simple_value") }()))
                }
            default: throw ReadError(description: "unexpected Event field \(f.number)")
            }
        }
        events.append(event)
    }
    return events
}

private func eventFiles(_ run: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: run).filter { $0.hasPrefix("events.out.tfevents.") }.sorted().map { run + "/" + $0 }
}

@Suite struct TensorBoardEventTests {
    @Test func crc32cMatchesTheCastagnoliCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(TFRecord.maskedCRC(Array("123456789".utf8)) == maskedCRC32C(Array("123456789".utf8)[...]))
    }

    @Test func aStoppedAndResumedRunWritesEveryMetricAsAScalarOncePerProcessStart() throws {
        let dir = NSTemporaryDirectory() + "carina-tb-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = dir + "/tiny.yaml", run = dir + "/run"
        try tinyRunConfig.replacingOccurrences(of: "logEvery: 100", with: "logEvery: 3").write(toFile: config, atomically: true, encoding: .utf8)
        let before = Date().timeIntervalSince1970
        try train(config, run, ranks: 2, stopAt: 5)  // two ranks: only rank 0 writes
        #expect(try eventFiles(run).count == 1)
        try train(config, run, ranks: 1)
        let files = try eventFiles(run)
        #expect(files.count == 2)

        var scalars: [(step: Int64, tag: String, value: Float)] = []
        for file in files {
            let events = try readEvents(file)
            #expect(events.first?.fileVersion == "brain.Event:2" && events.first?.step == 0 && events.first?.scalars.isEmpty == true)
            for e in events {
                #expect(e.wallTime.map { $0 >= before.rounded(.down) && $0 <= Date().timeIntervalSince1970 } == true)
            }
            for e in events.dropFirst() {
                #expect(e.fileVersion == nil && !e.scalars.isEmpty)
                scalars += e.scalars.map { (e.step, $0.tag, $0.value) }
            }
        }
        let records = try MetricsLog.read(run + "/metrics.jsonl")
        let expected = records.flatMap { r in r.values.keys.sorted().map { (Int64(r.step), r.kind + "/" + $0, Float(r.values[$0]!)) } }
        #expect(records.contains { $0.kind == "train" } && records.contains { $0.kind == "eval" })
        #expect(scalars.count == expected.count)
        for (got, want) in zip(scalars, expected) {
            let same = got.step == want.0 && got.tag == want.1 && (got.value == want.2 || (got.value.isNaN && want.2.isNaN))
            #expect(same, "got \(got), metrics.jsonl has \(want)")
        }
        // The resumed part starts again from step 5's checkpoint, in the second file.
        #expect(scalars.contains { $0.tag == "train/loss" && $0.step == 12 } && scalars.contains { $0.tag == "eval/zero_shot/macro_auc" })
    }

    @Test func eventFilesAreNeverReplaced() throws {
        let dir = try makeTemporaryDirectory("tb-names")
        let a = try TensorBoardEventWriter(directory: dir, wallTime: 1_700_000_000)
        let b = try TensorBoardEventWriter(directory: dir, wallTime: 1_700_000_000)
        #expect(a.path != b.path && b.path == a.path + ".1")
        try a.write(step: 3, scalars: [("train/loss", 2.5)])
        let events = try readEvents(a.path)
        #expect(events.count == 2 && events[1].step == 3 && events[1].scalars.map(\.tag) == ["train/loss"] && events[1].scalars[0].value == 2.5)
        #expect(try readEvents(b.path).count == 1)
    }
}
