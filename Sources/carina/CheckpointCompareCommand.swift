// `carina checkpoint compare A B`: whether two checkpoints hold the same training state bit for bit (every
// model and optimizer tensor, step, epoch, data position), e.g. a resumed run against one never stopped
// (launch/soak.sh). Not for: how far apart two different runs are (`carina compare` compares their metrics).

import ArgumentParser
import CarinaCheckpoint
import Foundation

struct CheckpointCompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Exit 0 when two checkpoints hold bit-identical tensors and the same run position; else list what differs and exit 1."
    )

    @Argument(help: "A checkpoint file, a `latest` pointer, or a checkpoint or run directory.")
    var first: String

    @Argument(help: "The other checkpoint (same forms).")
    var second: String

    func run() throws {
        do {
            let (pathA, pathB) = (try CheckpointStore.resolve(first), try CheckpointStore.resolve(second))
            let (a, b) = (try CheckpointFile.read(pathA), try CheckpointFile.read(pathB))
            var differences: [String] = []
            let (sa, sb) = (a.state, b.state)
            for (what, x, y) in [("step", sa.step, sb.step), ("epoch", sa.epoch, sb.epoch), ("samples consumed", sa.samplesConsumed, sb.samplesConsumed),
                                 ("optimizer step", sa.optimizerStep, sb.optimizerStep)] where x != y {
                differences.append("\(what): \(x) vs \(y)")
            }
            for (group, left, right) in [("model", a.model, b.model), ("optimizer", a.optimizer, b.optimizer)] {
                let rightByName = Dictionary(right.map { ($0.name, $0.tensor) }, uniquingKeysWith: { x, _ in x })
                for (name, tensor) in left {
                    guard let other = rightByName[name] else { differences.append("\(group) \(name): only in the first"); continue }
                    guard tensor.shape == other.shape else { differences.append("\(group) \(name): shape \(tensor.shape) vs \(other.shape)"); continue }
                    let (x, y) = (tensor.scalars, other.scalars)
                    let differing = zip(x, y).filter { $0.bitPattern != $1.bitPattern }
                    if !differing.isEmpty {
                        let largest = differing.map { abs($0 - $1) }.max() ?? 0
                        differences.append("\(group) \(name): \(differing.count) of \(x.count) values differ (largest by \(largest))")
                    }
                }
                for (name, _) in right where !left.contains(where: { $0.name == name }) { differences.append("\(group) \(name): only in the second") }
            }
            let tensors = a.model.count + a.optimizer.count
            if differences.isEmpty {
                print("identical: \(tensors) tensors, step \(sa.step), epoch \(sa.epoch), samples consumed \(sa.samplesConsumed) (\(pathA) = \(pathB))")
                return
            }
            print("different (\(differences.count)): \(pathA) vs \(pathB)")
            for line in differences.prefix(20) { print("  " + line) }
            if differences.count > 20 { print("  ... \(differences.count - 20) more") }
            throw ExitCode(1)
        } catch let error as CheckpointError {
            FileHandle.standardError.write(Data("carina checkpoint compare: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
