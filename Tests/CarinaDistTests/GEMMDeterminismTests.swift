// With Carina's GEMM (the default on every CPU) a training run's bits depend neither on which OpenBLAS kernels
// OPENBLAS_CORETYPE selects nor on the vector width of Carina's own tiles: `carina train` on a tiny CLIP gives
// identical parameters and optimizer state with OPENBLAS_CORETYPE=Haswell and =Sandybridge (AVX without FMA)
// and, where the CPU has AVX-512, =SkylakeX and with the AVX2 tiles forced (CARINA_KERNELS=avx2). The same
// pair Haswell / Sandybridge with CARINA_GEMM=openblas is run too, and must differ: the comparison can see a
// difference. Nor on the thread count (CARINA_THREADS 1, 2 and 3: launch/mpirun.sh gives each rank the cores
// divided among the ranks, so a bigger machine runs more threads per rank). Machines differ only in which
// tiles and how many threads the bits come from, so the quickstart's table is one table.
import Foundation
import Testing
import CarinaCheckpoint
import CarinaTensor
import CarinaTestSupport

private let tinyConfig = tinyCLIPRunConfig(steps: 6, checkpointEvery: 6,
                                          eval: "  zeroShot: false\n  linearProbe: false\n  compareUntrained: false\n  maxSamples: 8")

@Suite struct GEMMDeterminismTests {
    @Test func trainingBitsDoNotDependOnOpenBLASKernelsTheVectorWidthOrTheThreadCount() async throws {
        let binary = try CarinaBinary.locate()
        let dir = try makeTemporaryDirectory("gemm-bits")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = dir + "/tiny.yaml"
        try tinyConfig.write(toFile: config, atomically: true, encoding: .utf8)
        let base = ["OPENBLAS_NUM_THREADS": "1", "CARINA_THREADS": "1"]
        var variants: [(String, [String: String])] = [
            ("haswell", ["OPENBLAS_CORETYPE": "Haswell"]),
            ("sandybridge", ["OPENBLAS_CORETYPE": "Sandybridge"]),
            ("threads-2", ["OPENBLAS_CORETYPE": "Haswell", "CARINA_THREADS": "2"]),
            ("threads-3", ["OPENBLAS_CORETYPE": "Haswell", "CARINA_THREADS": "3"]),
            ("openblas-haswell", ["OPENBLAS_CORETYPE": "Haswell", "CARINA_GEMM": "openblas"]),
            ("openblas-sandybridge", ["OPENBLAS_CORETYPE": "Sandybridge", "CARINA_GEMM": "openblas"]),
        ]
        if SmallGEMM.supportsAVX512 {
            variants += [("skylakex", ["OPENBLAS_CORETYPE": "SkylakeX"]), ("avx2-tiles", ["OPENBLAS_CORETYPE": "Haswell", "CARINA_KERNELS": "avx2"])]
        }
        var states: [String: [[Float]]] = [:]
        for (name, extra) in variants {
            let run = dir + "/" + name
            let result = try await runSubprocess(binary, ["train", "--config", config, "--run-dir", run],
                                                 environment: base.merging(extra) { _, new in new }, timeout: .seconds(300))
            #expect(result.status == 0, "\(name): \(result.stderr)")
            let saved = try #require(try CheckpointStore(directory: run + "/checkpoints").latestValid(), "\(name): no checkpoint").contents
            states[name] = (saved.model + saved.optimizer).map(\.tensor.scalars)
        }
        let reference = try #require(states["haswell"])
        for name in ["sandybridge", "threads-2", "threads-3", "skylakex", "avx2-tiles"] {
            guard let state = states[name] else { continue }
            let differing = zip(state, reference).filter { $0.0 != $0.1 }.count
            #expect(differing == 0 && state.count == reference.count,
                    "\(name): \(differing) of \(reference.count) parameter and optimizer tensors differ from the one-thread Haswell run")
        }
        #expect(states["openblas-haswell"] != states["openblas-sandybridge"],
                "OpenBLAS's Haswell and Sandybridge kernels gave the same bits: this comparison cannot see a difference")
    }
}
