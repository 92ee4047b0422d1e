// What dataset.json may claim, checked when a dataset is opened and before anything is allocated from it:
// shard files confined to the dataset folder, sample counts that fit the shards' sizes, and splits that are
// in range and disjoint. Not for: decoding the file (DatasetManifest) or reading the shards (ShardDataset).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension DatasetManifest {
    /// Every sample takes at least its three 512-byte tar headers in its shard.
    static let minimumBytesPerSample = 3 * TarHeader.blockSize

    /// The path of shard `file` inside `directory`. Refuses a name that could lead outside the folder (empty,
    /// absolute, a '..' component, a NUL or control character, not ending in ".tar") and one that exists but
    /// resolves, through a symbolic link, outside the folder. Errors name dataset.json and the shard.
    static func shardPath(_ file: String, number: Int, in directory: String) throws -> String {
        let manifestPath = directory + "/" + fileName
        func bad(_ problem: String) -> DataError {
            .badDataset(path: manifestPath, problem: "shard \(number) '\(file)': \(problem)")
        }
        guard !file.isEmpty, file.hasSuffix(".tar"), file.utf8.count > 4 else { throw bad("a shard file name must end in .tar") }
        guard !file.hasPrefix("/") else { throw bad("an absolute path; shards must lie inside the dataset folder") }
        if file.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw bad("the name holds a NUL or control character")
        }
        if file.split(separator: "/", omittingEmptySubsequences: false).contains("..") {
            throw bad("the path contains '..'; shards must lie inside the dataset folder")
        }
        let path = directory + "/" + file
        for candidate in [path, directory + "/" + ShardWriter.indexFileName(file)] {
            // A file that does not exist is reported when it is opened; one that exists must resolve inside.
            guard let folder = resolved(directory), let target = resolved(candidate) else { continue }
            let base = folder.hasSuffix("/") ? folder : folder + "/"
            guard target.hasPrefix(base) else {
                throw bad("\(candidate) is a symbolic link (or passes through one) that leads outside the dataset folder, to \(target)")
            }
        }
        return path
    }

    /// `path` with every symbolic link, '.' and '..' resolved, or nil when it does not exist.
    private static func resolved(_ path: String) -> String? {
        guard let real = realpath(path, nil) else { return nil }
        defer { free(real) }
        return String(cString: real)
    }

    /// Checks the counts against each other and the recorded shard sizes, with overflow-checked arithmetic,
    /// before anything is sized by them (the recorded sizes are checked against the files when opened).
    func checkCounts(directory: String) throws {
        let manifestPath = directory + "/" + Self.fileName
        var total = 0
        for (number, shard) in shards.enumerated() {
            let (least, overflow) = shard.samples.multipliedReportingOverflow(by: Self.minimumBytesPerSample)
            guard shard.samples >= 0, shard.bytes >= 0, !overflow, least <= shard.bytes else {
                throw DataError.badDataset(path: manifestPath, problem: "shard \(number) '\(shard.file)': \(shard.samples) samples cannot fit in \(shard.bytes) bytes (each takes at least \(Self.minimumBytesPerSample))")
            }
            let (sum, over) = total.addingReportingOverflow(shard.samples)
            guard !over else { throw DataError.badDataset(path: manifestPath, problem: "the shards' sample counts add up past any possible size") }
            total = sum
        }
        guard sampleCount == total else {
            throw DataError.badDataset(path: manifestPath, problem: "sample_count is \(sampleCount) but the shards hold \(total) samples")
        }
    }

    /// Every split's indices are in 0..<sampleCount, none appears twice in a split, and no sample is in two
    /// splits. Errors name dataset.json, the split, the entry and the index. Call after `checkCounts`.
    func checkSplits(directory: String) throws {
        let manifestPath = directory + "/" + Self.fileName
        let names = SplitAssigner.names.filter { splits[$0] != nil } + splits.keys.filter { !SplitAssigner.names.contains($0) }.sorted()
        var owner = [Int32](repeating: -1, count: sampleCount)  // (sampleCount): which split holds each sample
        for (number, name) in names.enumerated() {
            for (entry, index) in (splits[name] ?? []).enumerated() {
                func bad(_ problem: String) -> DataError {
                    .badDataset(path: manifestPath, problem: "split '\(name)', entry \(entry): sample index \(index) \(problem)")
                }
                guard index >= 0 && index < sampleCount else { throw bad("is outside 0..<\(sampleCount)") }
                let holder = Int(owner[index])
                guard holder < 0 else {
                    throw bad(holder == number ? "appears twice in the split" : "is also in split '\(names[holder])'")
                }
                owner[index] = Int32(number)
            }
        }
    }
}
