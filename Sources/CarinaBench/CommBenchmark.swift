// `carina bench comm`: all-reduce and all-gather time with algorithm and bus bandwidth as nccl-tests
// define them (all-reduce busbw = algbw·2(n-1)/n, all-gather busbw = algbw·(n-1)/n, algbw = bytes / time
// where bytes is the buffer each rank ends with), for 4 KB to 64 MB; run it under mpirun.
import CarinaDist
import CarinaNN

public struct CommBenchmark: Sendable {
    public var sizes: [Int] = (0...7).map { 4096 << (2 * $0) }.filter { $0 <= 64 << 20 } + [64 << 20]
    public var repeats = 10

    public init() {}

    public struct Row: Sendable {
        public let collective: String
        public let bytes: Int
        public let seconds: Double
        public let algorithmBandwidth: Double  // bytes/s
        public let busBandwidth: Double  // bytes/s
    }

    /// Runs every size on `communicator`; every rank must call it. Times are the maximum over ranks of
    /// each rank's median (the slowest rank decides when a collective is done).
    public func run(_ communicator: Communicator) throws -> [Row] {
        var rows: [Row] = []
        let n = Double(communicator.size)
        for bytes in Array(Set(sizes)).sorted() {
            let count = Swift.max(1, bytes / 4)
            let buffer = Tensor.full([count], 1)
            try communicator.barrier()
            let reduce = try slowest(communicator, try Timing.median(warmup: 2, repeats: repeats) {
                try communicator.allReduceSum(UnsafeMutableBufferPointer(start: buffer.pointer, count: count))
            })
            let algbw = Double(count * 4) / reduce
            rows.append(Row(collective: "all-reduce", bytes: count * 4, seconds: reduce, algorithmBandwidth: algbw,
                            busBandwidth: algbw * 2 * (n - 1) / n))
            // all-gather: each rank sends count/size elements and ends with count elements
            let part = Swift.max(1, count / communicator.size)
            let send = Tensor.full([part], 1), receive = Tensor.zeros([part * communicator.size])
            try communicator.barrier()
            let gather = try slowest(communicator, try Timing.median(warmup: 2, repeats: repeats) {
                try communicator.allGather(UnsafeBufferPointer(start: send.pointer, count: part),
                                           into: UnsafeMutableBufferPointer(start: receive.pointer, count: receive.count))
            })
            let gbw = Double(receive.count * 4) / gather
            rows.append(Row(collective: "all-gather", bytes: receive.count * 4, seconds: gather, algorithmBandwidth: gbw,
                            busBandwidth: gbw * (n - 1) / n))
        }
        return rows
    }

    private func slowest(_ communicator: Communicator, _ seconds: Double) throws -> Double {
        var t = [seconds]
        try t.withUnsafeMutableBufferPointer { try communicator.allReduceMax($0) }
        return t[0]
    }

    public static func table(_ rows: [Row], ranks: Int) -> String {
        var table = TextTable(["collective", "ranks", "bytes", "time (us)", "algbw (GB/s)", "busbw (GB/s)"])
        for r in rows {
            table.add([r.collective, "\(ranks)", humanBytes(r.bytes), format(r.seconds * 1e6), format(r.algorithmBandwidth / 1e9, 2),
                       format(r.busBandwidth / 1e9, 2)])
        }
        return table.rendered
    }

    static func humanBytes(_ b: Int) -> String {
        b >= 1 << 20 ? "\(b >> 20) MB" : b >= 1 << 10 ? "\(b >> 10) KB" : "\(b) B"
    }
}
