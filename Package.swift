// swift-tools-version:6.0
// Carina: medical vision-language models on chest X-rays, data-parallel over MPI.
// Layers, lowest first (each imports only those above it): C shims, CarinaTiles -> CarinaKernelsAVX512 -> CarinaTensor -> CarinaNN -> ...
import PackageDescription

/// Kernel targets are always compiled optimised and for AVX2+FMA, also in debug builds, so that
/// tests run at a useful speed (debug loops are 100-300x slower, see ../shared/NOTES-interop.md).
let kernelFlags: [SwiftSetting] = [
    .unsafeFlags(["-O", "-target-cpu", "haswell", "-enforce-exclusivity=unchecked"]),
]

let package = Package(
    name: "Carina",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "carina", targets: ["carina"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // C shims: headers and the few wrappers Swift cannot import directly. No logic.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CIntrinsics"),  // header only: compiler intrinsics (a prefetch)
        .target(name: "CImageCodecs", linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),

        // Carina's GEMM register tiles and blocked GEMM, generic over the vector width (@inlinable: each user
        // specialises them for its own CPU target), and the AVX-512 specialisation, compiled for
        // skylake-avx512 and called only after a CPU check.
        .target(name: "CarinaTiles", dependencies: ["CIntrinsics"], swiftSettings: kernelFlags),
        .target(name: "CarinaKernelsAVX512", dependencies: ["CarinaTiles"], swiftSettings: [
            .unsafeFlags(["-O", "-target-cpu", "skylake-avx512", "-enforce-exclusivity=unchecked"]),
        ]),
        .target(name: "CarinaTensor", dependencies: ["COpenBLAS", "CarinaTiles", "CarinaKernelsAVX512"], swiftSettings: kernelFlags),
        .target(name: "CarinaNN", dependencies: ["CarinaTensor"], swiftSettings: kernelFlags),
        .target(name: "CarinaDist", dependencies: ["CarinaNN", "CMPI"]),
        // Pixel loops (tensor conversion, resizing, augmentation) run once per sample: kernel flags.
        .target(name: "CarinaData", dependencies: ["CarinaDist", "CImageCodecs", "CZlib"], swiftSettings: kernelFlags),
        .target(name: "CarinaCheckpoint", dependencies: ["CarinaData", "CZstd"], swiftSettings: kernelFlags),
        .target(name: "CarinaModels", dependencies: ["CarinaCheckpoint"], swiftSettings: kernelFlags),
        // Metrics loop over every sample (bootstrap resamples, the probe's Newton solver): kernel flags.
        .target(name: "CarinaEval", dependencies: ["CarinaModels"], swiftSettings: kernelFlags),
        .target(name: "CarinaTrain", dependencies: ["CarinaEval", .product(name: "Yams", package: "Yams")], swiftSettings: kernelFlags),
        // Benchmarks and self-checks behind `carina bench` and `carina selftest` (speed is measured
        // there, never asserted in tests).
        .target(name: "CarinaBench", dependencies: ["CarinaModels"]),
        .executableTarget(name: "carina", dependencies: [
            "CarinaBench", "CarinaTrain",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Finite-difference gradient checking, running the built `carina` as a subprocess, and small helpers
        // shared by the test targets.
        .target(name: "CarinaTestSupport", dependencies: ["CarinaTensor"], path: "Tests/CarinaTestSupport"),
        .testTarget(name: "CarinaTensorTests", dependencies: ["CarinaTensor", "CarinaTestSupport"]),
        .testTarget(name: "CarinaNNTests", dependencies: ["CarinaNN", "CarinaTestSupport"]),
        .testTarget(name: "CarinaDistLocalTests", dependencies: ["CarinaBench", "CarinaTrain", "CarinaTestSupport"]),
        .testTarget(name: "CarinaDataTests", dependencies: ["CarinaData"], exclude: ["reference", "Fixtures"]),
        .testTarget(name: "CarinaCheckpointTests", dependencies: ["CarinaCheckpoint", "CarinaTensor", "CarinaTestSupport"]),
        .testTarget(name: "CarinaBenchTests", dependencies: ["CarinaBench"]),
        .testTarget(name: "CarinaEvalTests", dependencies: ["CarinaEval"], exclude: ["reference"]),
        .testTarget(name: "CarinaTrainTests", dependencies: ["CarinaTrain", "CarinaTestSupport", .product(name: "Yams", package: "Yams")],
                    exclude: ["Fixtures"]),
        // Runs the built `carina` binary (alone and under mpirun) as a subprocess; `swift build` and
        // `swift test` both build it, so it is never stale.
        .testTarget(name: "CarinaDistTests", dependencies: ["CarinaTestSupport", "CarinaCheckpoint"]),
    ],
    swiftLanguageModes: [.v6]
)

// libFuzzer harnesses (Fuzz/), built only by launch/fuzz.sh with CARINA_FUZZ=1 and the fuzzer and address
// sanitizers; the normal build and the test suite never see them.
if Context.environment["CARINA_FUZZ"] != nil {
    package.targets.append(.executableTarget(name: "CarinaFuzz", dependencies: ["CarinaTrain"], path: "Fuzz"))
}
