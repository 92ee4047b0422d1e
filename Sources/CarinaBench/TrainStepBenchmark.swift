// `carina bench train --config FILE`: whole training steps of a configured method (forward, backward,
// gradient reduction, optimizer) on random data: samples/s, GEMM GFLOP/s (the step's sgemm calls
// counted, so forward and backward are both included), the share of this machine's SGEMM peak measured
// in the same run, and the largest rank's peak resident memory. Every rank calls it; figures are for the whole job.
import CarinaData
import CarinaDist
import CarinaModels
import CarinaNN
import Foundation

public struct TrainStepBenchmark {
    public var steps = 5
    public var warmup = 2

    public init() {}

    public struct Result: Sendable {
        public let ranks: Int
        public let threadsPerRank: Int
        public let globalBatch: Int
        public let stepSeconds: Double  // median, slowest rank
        public let flopsPerStep: Double  // all ranks
        public let peakGFLOPs: Double  // sum over ranks of each rank's SGEMM peak with its threads
        /// The largest rank's peak resident set size so far (getrusage's ru_maxrss), in bytes.
        public var peakResidentBytes: Double = 0
        public var samplesPerSecond: Double { Double(globalBatch) / stepSeconds }
        public var gflops: Double { flopsPerStep / stepSeconds / 1e9 }
        public var fractionOfPeak: Double { gflops / peakGFLOPs }
    }

    /// `step` runs one full training step on this rank's batch; `batch` makes that batch.
    public func run(communicator: Communicator, globalBatch: Int, step: () throws -> Void) throws -> Result {
        var peakBench = OpBenchmark()
        peakBench.repeats = 3
        let peak = peakBench.sgemmPeak(threads: Parallel.threads)
        for _ in 0..<warmup { try step() }
        let myFLOPs = Double(try FLOPCounter.count(step).flops)
        var times: [Double] = []
        for _ in 0..<steps { times.append(try Timing.median(warmup: 0, repeats: 1, step)) }
        times.sort()
        var sums = [myFLOPs, peak]
        try communicator.allReduceSum(&sums)
        let slowest = [times[times.count / 2]]
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        var maxima = [slowest[0], Double(usage.ru_maxrss) * 1024]  // Linux reports KiB
        try maxima.withUnsafeMutableBufferPointer { try communicator.allReduceMax($0) }
        var result = Result(ranks: communicator.size, threadsPerRank: Parallel.threads, globalBatch: globalBatch,
                            stepSeconds: maxima[0], flopsPerStep: sums[0], peakGFLOPs: sums[1])
        result.peakResidentBytes = maxima[1]
        return result
    }

    public static func describe(_ r: Result) -> String {
        var t = TextTable(["ranks x threads", "global batch", "ms/step", "samples/s", "GEMM GFLOP/step", "GFLOP/s", "SGEMM peak GFLOP/s", "% of peak",
                           "peak RSS MiB/rank"])
        t.add(["\(r.ranks) x \(r.threadsPerRank)", "\(r.globalBatch)", format(r.stepSeconds * 1e3), format(r.samplesPerSecond),
               format(r.flopsPerStep / 1e9, 2), format(r.gflops), format(r.peakGFLOPs), format(100 * r.fractionOfPeak),
               format(r.peakResidentBytes / 1_048_576)])
        return t.rendered
    }
}
