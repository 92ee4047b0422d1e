import CarinaBench
import CarinaNN
import Foundation

// Temporary wiring until the argument-parser command tree lands (merge with the infra branch).
if CommandLine.arguments.dropFirst().prefix(2) == ["bench", "ops"] {
    let rows = try OpBenchmark().run { print($0) }
    print(OpBenchmark.table(rows))
}
