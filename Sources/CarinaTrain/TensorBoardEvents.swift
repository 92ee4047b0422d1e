// TensorBoard event files, written by hand so `tensorboard --logdir runs/` shows Carina runs beside PyTorch
// ones: `events.out.tfevents.<unix time>.<host>.<pid>`, a TFRecord file (each record: length as uint64 LE,
// masked CRC32C of the length, the bytes, masked CRC32C of the bytes) of `Event` protocol buffers — first
// one with file_version "brain.Event:2", then one per metrics record with the step, the wall time and a
// Summary of `Value{tag, simple_value}`. A new file per process: TensorBoard reads a run's files in name order
// and, seeing a new file_version, drops the steps a resumed run writes again. Not for: reading events (the
// tests do, by the format's rules) or anything beyond scalars.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public final class TensorBoardEventWriter {
    public let path: String
    private let handle: FileHandle

    /// Creates a new event file in `directory` (never replacing one: a name taken gets a ".1", ".2", ...
    /// suffix) and writes its file_version record.
    public init(directory: String, wallTime: Double = Date().timeIntervalSince1970) throws {
        var hostBuffer = [CChar](repeating: 0, count: 256)
        let host = gethostname(&hostBuffer, hostBuffer.count - 1) == 0
            ? String(decoding: hostBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "localhost"
        let base = (directory as NSString).appendingPathComponent("events.out.tfevents.\(Int(wallTime)).\(host).\(getpid())")
        var candidate = base, attempt = 0, fd: Int32 = -1
        while true {
            fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 || errno != EEXIST || attempt >= 100 { break }
            attempt += 1
            candidate = base + ".\(attempt)"
        }
        guard fd >= 0 else {
            throw ConfigError("cannot create the TensorBoard event file \(candidate): \(String(cString: strerror(errno)))")
        }
        path = candidate
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        try append(TensorBoardEvent.fileVersion(wallTime: wallTime))
    }

    /// Writes one event of scalars at `step` (values are stored as Float32, TensorBoard's simple_value).
    public func write(step: Int, scalars: [(tag: String, value: Float)], wallTime: Double = Date().timeIntervalSince1970) throws {
        try append(TensorBoardEvent.scalars(wallTime: wallTime, step: step, scalars))
    }

    /// One record, written at once (like metrics.jsonl: a kill loses at most the record being written, and
    /// TensorBoard ignores a torn last record).
    private func append(_ event: [UInt8]) throws {
        do {
            try handle.write(contentsOf: TFRecord.frame(event))
        } catch {
            throw ConfigError("cannot write the TensorBoard event file \(path): \(error.localizedDescription)")
        }
    }
}

/// TFRecord framing with TensorFlow's masked CRC32C.
public enum TFRecord {
    /// length, masked CRC of length, data, masked CRC of data.
    public static func frame(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count + 16)
        let length = withUnsafeBytes(of: UInt64(data.count).littleEndian) { Array($0) }
        out += length
        out += withUnsafeBytes(of: maskedCRC(length).littleEndian) { Array($0) }
        out += data
        out += withUnsafeBytes(of: maskedCRC(data).littleEndian) { Array($0) }
        return out
    }

    /// TensorFlow's mask: rotate the CRC right by 15 bits and add 0xa282ead8.
    public static func maskedCRC(_ bytes: [UInt8]) -> UInt32 {
        let crc = CRC32C.checksum(bytes)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord uses.
public enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { i in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

/// The few fields of tensorflow/core/util/event.proto and summary.proto a scalar needs, encoded by hand:
/// Event{wall_time = 1 (double), step = 2 (int64), file_version = 3 (string), summary = 5 (Summary)},
/// Summary{value = 1 (repeated Value)}, Value{tag = 1 (string), simple_value = 2 (float)}.
public enum TensorBoardEvent {
    public static let fileVersionString = "brain.Event:2"

    public static func fileVersion(wallTime: Double) -> [UInt8] {
        var out: [UInt8] = []
        double(1, wallTime, into: &out)
        bytes(3, Array(fileVersionString.utf8), into: &out)
        return out
    }

    public static func scalars(wallTime: Double, step: Int, _ scalars: [(tag: String, value: Float)]) -> [UInt8] {
        var summary: [UInt8] = []
        for s in scalars {
            var value: [UInt8] = []
            bytes(1, Array(s.tag.utf8), into: &value)
            value.append(2 << 3 | 5)  // field 2, 32-bit
            value += withUnsafeBytes(of: s.value.bitPattern.littleEndian) { Array($0) }
            bytes(1, value, into: &summary)
        }
        var out: [UInt8] = []
        double(1, wallTime, into: &out)
        out.append(2 << 3 | 0)  // field 2, varint
        varint(UInt64(bitPattern: Int64(step)), into: &out)
        bytes(5, summary, into: &out)
        return out
    }

    static func varint(_ value: UInt64, into out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func double(_ field: UInt64, _ value: Double, into out: inout [UInt8]) {
        varint(field << 3 | 1, into: &out)  // 64-bit
        out += withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
    }

    static func bytes(_ field: UInt64, _ value: [UInt8], into out: inout [UInt8]) {
        varint(field << 3 | 2, into: &out)  // length-delimited
        varint(UInt64(value.count), into: &out)
        out += value
    }
}
