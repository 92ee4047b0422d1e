// Walks a tar file member by member, checking every header and that every member's data is all there.
// Not for: random access by key (ShardDataset uses the index) or writing (ShardWriter).

/// One regular-file member: where its header and data are.
struct TarMember: Equatable {
    var name: String
    var headerOffset: Int
    var dataOffset: Int
    var size: Int
}

enum TarReader {
    /// The regular-file members of the tar at `path`, in order. Throws, naming the file and member, on a
    /// header with a bad checksum or magic, data cut short, or an archive without its two end blocks.
    static func members(of file: ShardFile) throws -> [TarMember] {
        var members = [TarMember]()
        var offset = 0
        let block = TarHeader.blockSize
        while true {
            let bytes = try file.read(at: offset, count: block)
            guard bytes.count == block else {
                let last = members.last.map { "after \($0.name) " } ?? ""
                throw DataError.badShard(file: file.path, member: nil,
                                         problem: "ends \(last)at byte \(file.size) without the two zero blocks that close a tar (truncated)")
            }
            let isZero = bytes.withUnsafeBytes { TarHeader.isZeroBlock($0) }
            if isZero {
                let next = try file.read(at: offset + block, count: block)
                guard next.count == block, next.allSatisfy({ $0 == 0 }) else {
                    throw DataError.badShard(file: file.path, member: nil,
                                             problem: "one zero block at byte \(offset) is not followed by a second (truncated or not a tar)")
                }
                return members
            }
            let header = try bytes.withUnsafeBytes { raw throws in
                try TarHeader.parse(raw, shard: file.path, offset: offset)
            }
            let dataOffset = offset + block
            guard dataOffset + header.size <= file.size else {
                throw DataError.badShard(file: file.path, member: header.name,
                                         problem: "data truncated: \(header.size) bytes expected, \(max(0, file.size - dataOffset)) present")
            }
            if header.isRegularFile {
                members.append(TarMember(name: header.name, headerOffset: offset, dataOffset: dataOffset, size: header.size))
            }
            offset = dataOffset + header.size + TarHeader.padding(header.size)
        }
    }

    /// The data of one member.
    static func data(of member: TarMember, in file: ShardFile) throws -> [UInt8] {
        let bytes = try file.read(at: member.dataOffset, count: member.size)
        guard bytes.count == member.size else {
            throw DataError.badShard(file: file.path, member: member.name,
                                     problem: "data truncated: \(member.size) bytes expected, \(bytes.count) present")
        }
        return bytes
    }
}
