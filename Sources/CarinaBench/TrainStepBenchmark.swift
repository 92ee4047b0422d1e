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
    /// Alternate the timed steps between Carina's GEMM and OpenBLAS's (`steps` each, one after the other),
    /// so that their ratio is measured under the same load.
    public var compareEngines = false

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
        /// With profiling: seconds per step by op and section key (rank 0's, OpProfile's keys), the step time
        /// while profiled, and the seconds one local batch takes to assemble (the loader's work, done apart).
        public var profile: [String: Double] = [:]
        public var profiledStepSeconds = 0.0
        public var batchSeconds: Double?
        /// With `compareEngines`: the median step seconds (slowest rank) with each GEMM engine.
        public var engineStepSeconds: [BLAS.Engine: Double] = [:]
        public var samplesPerSecond: Double { Double(globalBatch) / stepSeconds }
        public var gflops: Double { flopsPerStep / stepSeconds / 1e9 }
        public var fractionOfPeak: Double { gflops / peakGFLOPs }
    }

    /// `step` runs one full training step on this rank's batch; `batch` makes that batch.
    /// With `profile`, as many steps again run under OpProfile; `makeBatch` (timed once) is the loader's work.
    public func run(communicator: Communicator, globalBatch: Int, profile: Bool = false, makeBatch: (() throws -> Void)? = nil,
                    step: () throws -> Void) throws -> Result {
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
        if compareEngines {
            let saved = BLAS.engine
            defer { BLAS.engine = saved }
            var perEngine: [BLAS.Engine: [Double]] = [:]
            for i in 0..<(2 * steps) {
                let engine: BLAS.Engine = i % 2 == 0 ? .carina : .openblas
                BLAS.engine = engine
                perEngine[engine, default: []].append(try Timing.median(warmup: 0, repeats: 1, step))
            }
            var medians = BLAS.Engine.allCases.map { e in perEngine[e]!.sorted()[steps / 2] }
            try medians.withUnsafeMutableBufferPointer { try communicator.allReduceMax($0) }
            for (e, t) in zip(BLAS.Engine.allCases, medians) { result.engineStepSeconds[e] = t }
        }
        if profile {
            OpProfile.start()
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<steps {
                OpProfile.resetClock()
                try step()
            }
            result.profiledStepSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(steps)
            result.profile = OpProfile.stop().mapValues { $0 / Double(steps) }
            if let makeBatch { result.batchSeconds = try Timing.median(warmup: 0, repeats: 3, makeBatch) }
        }
        return result
    }

    /// The category of an OpProfile key: the op categories of `--profile`'s table.
    public static func category(_ key: String) -> String {
        if key == "optimizer" { return "optimizer (zero grad, clip, step)" }
        if key == "communication" { return "communication (waiting, launching)" }
        let op = key.split(separator: " ", maxSplits: 1).last.map(String.init) ?? key
        switch op {
        case "linear", "matmul", "conv2d": return "GEMM (linear, matmul, conv)"
        case "attention": return "attention (fused)"
        case "layer_norm", "batch_norm", "l2_normalize": return "normalisation"
        case "cross_entropy", "logsumexp", "bce_with_logits": return "losses"
        default: return "elementwise and data movement"
        }
    }

    /// `--profile`'s tables: time per step by category (forward, backward), then the costliest ops.
    public static func profileTable(_ r: Result, top: Int = 12) -> String {
        let step = r.profiledStepSeconds
        // Ops are keyed "forward <op>" / "backward <op>"; any other key is a section, timed whole.
        var byCategory: [String: (forward: Double, backward: Double, section: Bool)] = [:]
        for (key, seconds) in r.profile {
            let c = category(key)
            if key.hasPrefix("backward ") {
                byCategory[c, default: (0, 0, false)].backward += seconds
            } else {
                byCategory[c, default: (0, 0, !key.hasPrefix("forward "))].forward += seconds
            }
        }
        let tracked = r.profile.values.reduce(0, +)
        var t = TextTable(["category (rank 0, per step)", "forward ms", "backward ms", "total ms", "% of step"])
        for (c, v) in byCategory.sorted(by: { $0.value.forward + $0.value.backward > $1.value.forward + $1.value.backward }) {
            t.add([c, v.section ? "-" : format(v.forward * 1e3, 2), v.section ? "-" : format(v.backward * 1e3, 2),
                   format((v.forward + v.backward) * 1e3, 2), format(100 * (v.forward + v.backward) / step)])
        }
        t.add(["other (untracked glue)", "-", "-", format(max(0, step - tracked) * 1e3, 2), format(100 * max(0, step - tracked) / step)])
        t.add(["step (profiled)", "-", "-", format(step * 1e3, 2), "100"])
        var lines = [t.rendered]
        if let b = r.batchSeconds {
            lines.append("data: assembling one local batch takes \(format(b * 1e3, 2)) ms on one thread (\(format(100 * b / step)) % of a step), "
                + "done by the loader's workers beside training, not inside the step above")
        }
        var ops = TextTable(["op (rank 0, per step)", "ms", "% of step"])
        for (key, seconds) in r.profile.sorted(by: { $0.value > $1.value }).prefix(top) {
            ops.add([key, format(seconds * 1e3, 2), format(100 * seconds / step)])
        }
        lines.append(ops.rendered)
        lines.append("Forward time is charged to an op as the time since the previous op ended (so glue before an op is its own); "
            + "backward closures are timed exactly; profiling adds a clock read per op.")
        return lines.joined(separator: "\n\n")
    }

    public static func describe(_ r: Result) -> String {
        var t = TextTable(["ranks x threads", "global batch", "ms/step", "samples/s", "GEMM GFLOP/step", "GFLOP/s", "SGEMM peak GFLOP/s", "% of peak",
                           "peak RSS MiB/rank"])
        t.add(["\(r.ranks) x \(r.threadsPerRank)", "\(r.globalBatch)", format(r.stepSeconds * 1e3), format(r.samplesPerSecond),
               format(r.flopsPerStep / 1e9, 2), format(r.gflops), format(r.peakGFLOPs), format(100 * r.fractionOfPeak),
               format(r.peakResidentBytes / 1_048_576)])
        guard let carina = r.engineStepSeconds[.carina], let openblas = r.engineStepSeconds[.openblas] else { return t.rendered }
        var e = TextTable(["GEMM engine (steps alternated)", "ms/step", "samples/s", "speed vs openblas"])
        for (name, seconds) in [(OpBenchmark.label(.carina), carina), (OpBenchmark.label(.openblas), openblas)] {
            e.add([name, format(seconds * 1e3), format(Double(r.globalBatch) / seconds), format(openblas / seconds, 2)])
        }
        return t.rendered + "\n\n" + e.rendered
    }
}
