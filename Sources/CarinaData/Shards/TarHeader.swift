// The 512-byte POSIX ustar header of one tar member: writing ours, and reading and checking any ustar
// header (checksum, octal size). Not for: walking a whole archive (TarReader) or shard layout (ShardWriter).

/// One member's header. Shards hold only regular files; other kinds (directories, pax headers) are read
/// so that an archive repacked by another tool can still be walked, and are skipped by the reader.
struct TarHeader: Equatable {
    static let blockSize = 512

    var name: String
    var size: Int
    /// '0' (or NUL) for a regular file.
    var typeflag: UInt8

    var isRegularFile: Bool { typeflag == UInt8(ascii: "0") || typeflag == 0 }

    /// Bytes of zero padding after `size` bytes of data, up to the next 512-byte boundary.
    static func padding(_ size: Int) -> Int { (blockSize - size % blockSize) % blockSize }

    /// The header block of a regular file: mode 0644, owner 0/0, mtime 0 (so shards are byte-reproducible),
    /// ustar magic, checksum. `name` must fit the 100-byte name field (keys are short and flat).
    static func encode(name: String, size: Int) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: blockSize)
        func put(_ text: String, at offset: Int) {
            for (i, byte) in text.utf8.enumerated() { block[offset + i] = byte }
        }
        func octal(_ value: Int, digits: Int) -> String {
            let text = String(value, radix: 8)
            return String(repeating: "0", count: max(0, digits - text.count)) + text
        }
        precondition(name.utf8.count <= 100 && size >= 0 && size < 1 << 33, "tar member \(name) cannot be encoded")
        put(name, at: 0)
        put(octal(0o644, digits: 7), at: 100)  // mode, NUL-terminated
        put(octal(0, digits: 7), at: 108)      // uid
        put(octal(0, digits: 7), at: 116)      // gid
        put(octal(size, digits: 11), at: 124)  // size
        put(octal(0, digits: 11), at: 136)     // mtime
        block[156] = UInt8(ascii: "0")         // typeflag: regular file
        put("ustar", at: 257)                  // magic "ustar\0"
        put("00", at: 263)                     // version
        put(octal(0, digits: 7), at: 329)      // devmajor
        put(octal(0, digits: 7), at: 337)      // devminor
        let sum = checksum(block)
        put(octal(sum, digits: 6), at: 148)    // six digits, NUL, space
        block[154] = 0
        block[155] = UInt8(ascii: " ")
        return block
    }

    /// The sum of the header's bytes with the checksum field counted as eight spaces.
    static func checksum(_ block: UnsafeRawBufferPointer) -> Int {
        var sum = 0
        for i in 0..<blockSize { sum += (148..<156).contains(i) ? 32 : Int(block[i]) }
        return sum
    }

    static func checksum(_ block: [UInt8]) -> Int { block.withUnsafeBytes { checksum($0) } }

    /// Whether a block is all zeros (the end of an archive is two of them).
    static func isZeroBlock(_ block: UnsafeRawBufferPointer) -> Bool { block.allSatisfy { $0 == 0 } }

    /// Parses and checks one header block. `shard` and `offset` only name the place in errors.
    static func parse(_ block: UnsafeRawBufferPointer, shard: String, offset: Int) throws -> TarHeader {
        let place = "header at byte \(offset)"
        let rawName = field(block, 0, 100)
        guard block[257..<262].elementsEqual("ustar".utf8) else {
            throw DataError.badShard(file: shard, member: rawName.isEmpty ? place : "\(rawName) (\(place))",
                                     problem: "not a ustar header (no 'ustar' magic)")
        }
        let named = rawName.isEmpty ? place : rawName
        guard let stored = octalValue(block, 148, 8) else {
            throw DataError.badShard(file: shard, member: named, problem: "checksum field is not an octal number")
        }
        let computed = checksum(block)
        // Some old writers summed signed bytes; accept either reading of the same header.
        let signed = (0..<blockSize).reduce(0) { $0 + ((148..<156).contains($1) ? 32 : Int(Int8(bitPattern: block[$1]))) }
        guard stored == computed || stored == signed else {
            throw DataError.badShard(file: shard, member: named,
                                     problem: "header checksum is \(stored) but the header sums to \(computed) (corrupt header)")
        }
        guard let size = octalValue(block, 124, 12) else {
            throw DataError.badShard(file: shard, member: named, problem: "size field is not an octal number")
        }
        let prefix = field(block, 345, 155)
        let name = prefix.isEmpty ? rawName : prefix + "/" + rawName
        if let problem = unsafeNameProblem(name) ?? hiddenBytesProblem(block, 0, 100) ?? hiddenBytesProblem(block, 345, 155) {
            throw DataError.badShard(file: shard, member: place, problem: "member name \(name.debugDescription) \(problem)")
        }
        return TarHeader(name: name, size: size, typeflag: block[156])
    }

    /// Why a member name is not a safe relative path (absolute, a '..' component, control characters), if it is not.
    static func unsafeNameProblem(_ name: String) -> String? {
        if name.hasPrefix("/") { return "is an absolute path" }
        if name.split(separator: "/", omittingEmptySubsequences: false).contains("..") { return "contains a '..' component" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return "contains a control character" }
        return nil
    }

    /// A name field whose NUL terminator is followed by more text hides part of the name from some readers.
    private static func hiddenBytesProblem(_ block: UnsafeRawBufferPointer, _ offset: Int, _ length: Int) -> String? {
        let bytes = block[offset..<(offset + length)]
        guard let end = bytes.firstIndex(of: 0) else { return nil }
        return bytes[end...].allSatisfy({ $0 == 0 }) ? nil : "has more bytes after a NUL inside its name field"
    }

    /// A NUL-terminated text field.
    private static func field(_ block: UnsafeRawBufferPointer, _ offset: Int, _ length: Int) -> String {
        let bytes = block[offset..<(offset + length)]
        let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
        return String(decoding: bytes[offset..<end], as: UTF8.self)
    }

    /// An octal number field: optional leading spaces, digits, then NUL or spaces.
    private static func octalValue(_ block: UnsafeRawBufferPointer, _ offset: Int, _ length: Int) -> Int? {
        var value = 0, digits = 0, i = offset
        let end = offset + length
        while i < end && block[i] == 32 { i += 1 }
        while i < end, block[i] >= 48, block[i] <= 55 {
            value = value * 8 + Int(block[i] - 48)
            digits += 1
            i += 1
        }
        while i < end && (block[i] == 0 || block[i] == 32) { i += 1 }
        return digits > 0 && i == end ? value : nil
    }
}
