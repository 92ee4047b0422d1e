// Starting weights from other runs or public weights: each of a method's weight sources names a run directory
// or checkpoint (or a Hugging Face model directory, converted by its name map), which tensors to take (by
// prefix) and how to rename them; they are copied into the model by name, all or nothing, every shape checked.
// Not for: resuming a run (TrainingRun loads its own checkpoints whole).
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
            switch source.format {
            case .carina: break
            case .huggingFaceText, .huggingFaceCLIP, .openCLIP, .torchvisionResNet:
                lines += try loadHuggingFace(source, targets: targets)
                continue
            }
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
                if target.shape != tensor.shape, source.resizedPositions.contains(targetName), let grid = resizableGrid(tensor, to: target) {
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

    /// A Hugging Face directory converted by its architecture's name map (BERT / RoBERTa into the `TextEncoder`
    /// that `source.rename` places; CLIPModel into the whole CLIP): every tensor under the renamed prefixes
    /// must be found with its shape (errors name the file and the HF and Carina tensors; ViT positions from
    /// another grid are resized); the file's other tensors are listed in the log as not used.
    static func loadHuggingFace(_ source: WeightSource, targets: [String: Tensor]) throws -> [String] {
        let file: String, kind: String, conversion: HFWeights.Conversion
        var scheme = "hf:"
        switch source.format {
        case .carina: preconditionFailure("not a converted source")
        case let .openCLIP(config):
            let model = try OpenCLIPModel(directory: source.path)
            (file, kind, scheme) = (model.weightsPath, model.isResNet ? "open_clip ModifiedResNet" : "open_clip ViT", "openclip:")
            let contents = try SafeTensors.readContents(file)
            let prefix = try TorchWeights.prefix(of: Set(contents.tensors.map(\.name)), probe: "logit_scale", file: file, what: "an open_clip CLIP state dict")
            conversion = try HFWeights.convert(contents.tensors, skipped: contents.skipped.map(\.name), file: file, prefix: prefix, entries: TorchWeights.openCLIP(config))
        case let .torchvisionResNet(blocks, channels):
            (file, kind, scheme) = (source.path, "torchvision ResNet", "torchvision:")
            let contents = try SafeTensors.readContents(file)
            let prefix = try TorchWeights.prefix(of: Set(contents.tensors.map(\.name)), probe: "layer1.0.conv1.weight", file: file, what: "a torchvision ResNet state dict")
            conversion = try HFWeights.convert(contents.tensors, skipped: contents.skipped.map(\.name), file: file, prefix: prefix,
                                               entries: TorchWeights.torchvisionResNet(blocks: blocks, imageChannels: channels))
        case let .huggingFaceText(layers, pooler):
            let model = try HFTextModel(directory: source.path)
            (file, kind) = (model.weightsPath, model.architecture.rawValue)
            let contents = try SafeTensors.readContents(file)
            conversion = try HFTextWeights.convert(contents.tensors, skipped: contents.skipped.map(\.name), file: file, layers: layers, pooler: pooler)
        case let .huggingFaceCLIP(visionLayers, textLayers, channels):
            let model = try HFCLIPModel(directory: source.path)
            (file, kind) = (model.weightsPath, "clip")
            let contents = try SafeTensors.readContents(file)
            conversion = try HFCLIPWeights.convert(contents.tensors, skipped: contents.skipped.map(\.name), file: file,
                                                   visionLayers: visionLayers, textLayers: textLayers, imageChannels: channels)
        }
        guard conversion.missing.isEmpty else {
            throw InteropError(file: file, "\(source.purpose): \(conversion.missing.count) tensor(s) not found: "
                               + conversion.missing.map { "'\($0)'" }.joined(separator: ", "))
        }
        var lines: [String] = []
        var pairs: [(stored: Tensor, target: Tensor)] = []
        var filled: Set<String> = []
        var unused = conversion.unused, sourceCount = 0
        for mapped in conversion.tensors {
            guard let name = source.target(of: mapped.name) else {
                unused += mapped.sources  // converted, but not selected (`include`): not loaded either
                continue
            }
            sourceCount += mapped.sources.count
            let from = mapped.sources.map { "'\($0)'" }.joined(separator: " + ")
            guard let target = targets[name] else {
                throw InteropError(file: file, "\(source.purpose): tensor \(from) (Carina's '\(name)') has no counterpart in this model")
            }
            var stored = mapped.tensor
            if target.shape != stored.shape, source.resizedPositions.contains(name), let grid = resizableGrid(stored, to: target) {
                stored = try ViT.resizePositionEmbedding(stored, toGrid: grid)
                lines.append("\(name): positions resized from a \(ViT.squareGrid(rows: mapped.tensor.shape[0])!)² grid to \(grid)² (bicubic)")
            }
            guard target.shape == stored.shape else {
                let shown = mapped.sources.count == 1 ? "\(mapped.tensor.shape)" : "\(mapped.tensor.shape) joined"
                throw InteropError(file: file, "\(source.purpose): tensor \(from) has shape \(shown) there but Carina's '\(name)' is \(target.shape) in this model")
            }
            pairs.append((stored, target))
            filled.insert(name)
        }
        // Every tensor of the encoder the source fills must come from the file (a layer the map does not know would stay random).
        let prefixes = source.rename.map(\.to)
        let unfilled = targets.keys.filter { name in prefixes.contains { name.hasPrefix($0) } && !filled.contains(name) }.sorted()
        guard unfilled.isEmpty else {
            throw InteropError(file: file, "\(source.purpose): no tensor there for \(unfilled.map { "'\($0)'" }.joined(separator: ", ")) of this model")
        }
        for (stored, target) in pairs { target.assign(stored) }
        lines.insert("\(source.purpose) starts from \(scheme)\(source.path) (\(kind), \(pairs.count) tensors from \(sourceCount) in \(file))", at: 0)
        if !unused.isEmpty {
            unused.sort()
            let shown = unused.prefix(12).joined(separator: ", ")
            lines.append("\(file): not used (\(unused.count)): \(shown)" + (unused.count > 12 ? ", ..." : ""))
        }
        return lines
    }

    /// The target's grid when `stored` and `target` are both ViT position tables (1 + g², W) of one width.
    static func resizableGrid(_ stored: Tensor, to target: Tensor) -> Int? {
        guard target.rank == 2, stored.rank == 2, target.shape[1] == stored.shape[1], ViT.squareGrid(rows: stored.shape[0]) != nil else { return nil }
        return ViT.squareGrid(rows: target.shape[0])
    }
}
