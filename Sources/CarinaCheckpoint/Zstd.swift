// One-shot zstd compression of byte buffers, with a frame checksum so corruption is detected on read.
// Not for: the checkpoint file layout (frames, manifest, offsets) built on top of it.

import CZstd

/// zstd frames in memory. Every frame written here records its content size and an XXH64 checksum
/// of its content, so a truncated or corrupted frame is an error on decompression, never garbage.
public enum Zstd {
    /// The compression levels zstd accepts (negative levels are its fast modes).
    public static var levels: ClosedRange<Int> { Int(ZSTD_minCLevel())...Int(ZSTD_maxCLevel()) }

    /// Compresses `bytes` into one zstd frame at `level` (3 is zstd's default; 19 is slow and small).
    public static func compress(_ bytes: UnsafeRawBufferPointer, level: Int = 3, context: String = "buffer") throws -> [UInt8] {
        try Compressor(level: level, context: context).compress(bytes, context: context)
    }

    /// Compresses an array of bytes; see `compress(_:level:context:)`.
    public static func compress(_ bytes: [UInt8], level: Int = 3, context: String = "buffer") throws -> [UInt8] {
        try bytes.withUnsafeBytes { try compress($0, level: level, context: context) }
    }

    /// Decompresses one zstd frame that must hold exactly `expectedSize` bytes and nothing after it.
    /// A frame that is truncated, corrupted (checksum mismatch) or of another size throws an error naming `context`.
    public static func decompress(_ frame: UnsafeRawBufferPointer, expectedSize: Int, context: String = "zstd frame") throws -> [UInt8] {
        guard expectedSize >= 0 else {
            throw CheckpointError.zstd(context: context, operation: "decompress", detail: "expected size \(expectedSize) is negative")
        }
        let decompressor = try Decompressor(context: context)
        var failure: (any Error)?
        let bytes = [UInt8](unsafeUninitializedCapacity: expectedSize) { out, written in
            do {
                try decompressor.decompress(frame, into: UnsafeMutableRawBufferPointer(out), context: context)
                written = expectedSize
            } catch {
                failure = error
                written = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }

    /// Decompresses a frame held in an array; see `decompress(_:expectedSize:context:)`.
    public static func decompress(_ frame: [UInt8], expectedSize: Int, context: String = "zstd frame") throws -> [UInt8] {
        try frame.withUnsafeBytes { try decompress($0, expectedSize: expectedSize, context: context) }
    }

    /// A compression context at one level, reused for many frames by one thread at a time.
    public final class Compressor {
        private let cctx: OpaquePointer

        public init(level: Int, context: String = "buffer") throws {
            guard levels.contains(level) else {
                throw CheckpointError.zstd(context: context, operation: "compress",
                                           detail: "level \(level) is outside zstd's range \(levels)")
            }
            guard let cctx = ZSTD_createCCtx() else {
                throw CheckpointError.zstd(context: context, operation: "compress", detail: "cannot allocate a compression context")
            }
            self.cctx = cctx
            try check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, Int32(level)), context, "compress")
            try check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1), context, "compress")
            try check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1), context, "compress")
        }

        deinit { ZSTD_freeCCtx(cctx) }

        /// One frame holding `bytes`, with content size and checksum.
        public func compress(_ bytes: UnsafeRawBufferPointer, context: String) throws -> [UInt8] {
            let capacity = ZSTD_compressBound(bytes.count)
            var failure: (any Error)?
            let frame = [UInt8](unsafeUninitializedCapacity: capacity) { out, written in
                do {
                    written = try check(ZSTD_compress2(cctx, out.baseAddress, capacity, bytes.baseAddress, bytes.count), context, "compress")
                } catch {
                    failure = error
                    written = 0
                }
            }
            if let failure { throw failure }
            return frame
        }
    }

    /// A decompression context, reused for many frames by one thread at a time.
    public final class Decompressor {
        private let dctx: OpaquePointer

        public init(context: String = "zstd frame") throws {
            guard let dctx = ZSTD_createDCtx() else {
                throw CheckpointError.zstd(context: context, operation: "decompress", detail: "cannot allocate a decompression context")
            }
            self.dctx = dctx
        }

        deinit { ZSTD_freeDCtx(dctx) }

        /// Decodes one frame that must hold exactly `destination.count` bytes and nothing after it into
        /// `destination`. A truncated, corrupt (checksum mismatch) or differently sized frame throws an
        /// error naming `context`; `destination` then holds unspecified bytes.
        public func decompress(_ frame: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, context: String) throws {
            func fail(_ detail: String) -> CheckpointError { .zstd(context: context, operation: "decompress", detail: detail) }
            let expectedSize = destination.count
            let declared = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
            if declared == ZSTD_CONTENTSIZE_ERROR {
                throw fail("not a zstd frame (\(frame.count) bytes: bad magic number, or header cut short)")
            }
            if declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != UInt64(expectedSize) {
                throw fail("frame holds \(declared) bytes, expected \(expectedSize)")
            }
            let frameSize = ZSTD_findFrameCompressedSize(frame.baseAddress, frame.count)
            if ZSTD_isError(frameSize) != 0 {
                throw fail(errorName(frameSize) + (isTruncation(frameSize) ? " (frame truncated?)" : ""))
            }
            if frameSize != frame.count {
                throw fail("\(frame.count - frameSize) bytes follow the \(frameSize)-byte frame")
            }
            let result = ZSTD_decompressDCtx(dctx, destination.baseAddress, expectedSize, frame.baseAddress, frame.count)
            if ZSTD_isError(result) != 0 { throw fail(errorName(result)) }
            if result != expectedSize { throw fail("frame decoded to \(result) bytes, expected \(expectedSize)") }
        }
    }

    /// Throws when `code` is a zstd error code; returns it otherwise (a size for most calls).
    @discardableResult
    private static func check(_ code: Int, _ context: String, _ operation: String) throws -> Int {
        guard ZSTD_isError(code) != 0 else { return code }
        throw CheckpointError.zstd(context: context, operation: operation, detail: errorName(code))
    }

    private static func errorName(_ code: Int) -> String {
        String(cString: ZSTD_getErrorName(code))
    }

    /// zstd reports a frame cut short as a wrong source size.
    private static func isTruncation(_ code: Int) -> Bool {
        ZSTD_getErrorCode(code) == ZSTD_error_srcSize_wrong
    }
}
