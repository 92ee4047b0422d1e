// Starting weights from other runs: each of a method's weight sources names a run directory or checkpoint,
// which tensors to take (by prefix) and how to rename them; they are copied into the model by name, all or
// nothing, every shape checked. Not for: resuming a run (TrainingRun loads its own checkpoints whole).
import CarinaCheckpoint
import CarinaModels
import CarinaNN
import Foundation

enum WeightLoader {
    /// Loads every source into `model`; returns a line per source for the log.
    static func load(_ sources: [WeightSource], into model: Module) throws -> [String] {
        var lines: [String] = []
        let targets = Dictionary(model.namedState.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        var read: [String: [(name: String, tensor: Tensor)]] = [:]  // each file once, however many sources name it
        for source in sources {
            let path = try CheckpointStore.resolve(source.path)
            if read[path] == nil { read[path] = try CheckpointFile.read(path, groups: ["model"]).model }
            var pairs: [(stored: Tensor, target: Tensor)] = []
            for (name, tensor) in read[path]! {
                guard let targetName = source.target(of: name) else { continue }
                guard let target = targets[targetName] else {
                    throw ConfigError("\(path): \(source.purpose): tensor '\(name)'" + (targetName == name ? "" : " (renamed '\(targetName)')")
                                      + " has no counterpart in this model")
                }
                var stored = tensor
                if target.shape != tensor.shape, source.resizedPositions.contains(targetName), target.rank == 2, tensor.rank == 2,
                   target.shape[1] == tensor.shape[1], let grid = ViT.squareGrid(rows: target.shape[0]), ViT.squareGrid(rows: tensor.shape[0]) != nil {
                    stored = try ViT.resizePositionEmbedding(tensor, toGrid: grid)
                    lines.append("\(targetName): positions resized from a \(ViT.squareGrid(rows: tensor.shape[0])!)² grid to \(grid)² (bicubic)")
                }
                guard target.shape == stored.shape else {
                    throw ConfigError("\(path): \(source.purpose): tensor '\(name)' has shape \(tensor.shape) there but \(target.shape) in this model")
                }
                pairs.append((stored, target))
            }
            guard !pairs.isEmpty else {
                throw ConfigError("\(path): \(source.purpose): no tensor there starts with \(source.include.map { "'\($0)'" }.joined(separator: " or "))")
            }
            for (stored, target) in pairs { target.assign(stored) }
            lines.append("\(source.purpose) starts from \(path) (\(pairs.count) tensors)")
        }
        return lines
    }
}
