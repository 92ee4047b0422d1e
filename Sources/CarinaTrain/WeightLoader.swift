// Starting weights from other runs or public weights: each of a method's weight sources names a run directory
// or checkpoint (or a Hugging Face, open_clip or torchvision file, converted by its name map), which tensors to take (by
// prefix) and how to rename them; they are copied into the model by name, all or nothing, every shape checked.
// Not for: resuming a run (TrainingRun loads its own checkpoints whole).
import CarinaCheckpoint
import CarinaModels
import CarinaNN
import Foundation

enum WeightLoader {
    /// Loads every source into `model`; returns a line per source for the log. Each file is read (and each
    /// public file converted) once, however many sources name it (PsPG takes a CLIP's towers and its logit
    /// scale from one file as two sources).
    static func load(_ sources: [WeightSource], into model: Module) throws -> [String] {
        var lines: [String] = []
        let targets = Dictionary(model.namedState.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        var read: [String: [(name: String, tensor: Tensor)]] = [:]  // each file once, however many sources name it
        var converted: [(path: String, format: WeightSource.Format, result: Converted)] = []
        for source in sources {
            switch source.format {
            case .carina: break
            case .huggingFaceText, .huggingFaceCLIP, .openCLIP, .torchvisionResNet:
                let done: Converted
                if let cached = converted.first(where: { $0.path == source.path && $0.format == source.format }) {
                    done = cached.result
                } else {
                    done = try convert(source)
                    converted.append((source.path, source.format, done))
                }
                lines += try loadConverted(done, source, targets: targets)
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
                let stored = try resized(tensor, as: targetName, to: target, source, log: &lines)
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

    /// A public file converted into Carina's names: the file, what it is, the scheme it was named with.
    struct Converted {
        let file: String
        let kind: String
        let scheme: String
        let conversion: HFWeights.Conversion
    }

    /// Reads the file of a Hugging Face, open_clip or torchvision source and converts it by its name map.
    static func convert(_ source: WeightSource) throws -> Converted {
        let file: String, kind: String, scheme: String
        let convert: (_ tensors: [(name: String, tensor: Tensor)], _ skipped: [String], _ file: String) throws -> HFWeights.Conversion
        switch source.format {
        case .carina: preconditionFailure("not a converted source")
        case let .openCLIP(config):
            let model = try OpenCLIPModel(directory: source.path)
            (file, kind, scheme) = (model.weightsPath, model.isResNet ? "open_clip ModifiedResNet" : "open_clip ViT", "openclip:")
            convert = { tensors, skipped, file in
                let prefix = try TorchWeights.prefix(of: Set(tensors.map(\.name)), probe: "logit_scale", file: file, what: "an open_clip CLIP state dict")
                return try HFWeights.convert(tensors, skipped: skipped, file: file, prefix: prefix, entries: TorchWeights.openCLIP(config))
            }
        case let .torchvisionResNet(blocks, channels):
            (file, kind, scheme) = (source.path, "torchvision ResNet", "torchvision:")
            convert = { tensors, skipped, file in
                let prefix = try TorchWeights.prefix(of: Set(tensors.map(\.name)), probe: "layer1.0.conv1.weight", file: file, what: "a torchvision ResNet state dict")
                return try HFWeights.convert(tensors, skipped: skipped, file: file, prefix: prefix,
                                             entries: TorchWeights.torchvisionResNet(blocks: blocks, imageChannels: channels))
            }
        case let .huggingFaceText(layers, pooler):
            let model = try HFTextModel(directory: source.path)
            (file, kind, scheme) = (model.weightsPath, model.architecture.rawValue, "hf:")
            convert = { try HFTextWeights.convert($0, skipped: $1, file: $2, layers: layers, pooler: pooler) }
        case let .huggingFaceCLIP(visionLayers, textLayers, channels):
            let model = try HFCLIPModel(directory: source.path)
            (file, kind, scheme) = (model.weightsPath, "clip", "hf:")
            convert = { try HFCLIPWeights.convert($0, skipped: $1, file: $2, visionLayers: visionLayers, textLayers: textLayers, imageChannels: channels) }
        }
        let contents = try SafeTensors.readContents(file)
        return Converted(file: file, kind: kind, scheme: scheme, conversion: try convert(contents.tensors, contents.skipped.map(\.name), file))
    }

    /// A converted file into the tensors `source.rename` places (BERT / RoBERTa into a `TextEncoder`, CLIPModel or
    /// open_clip into the whole CLIP, torchvision into a ResNet): every tensor under the renamed prefixes must be
    /// found with its shape (errors name the file and the source and Carina tensors; ViT positions from another
    /// grid are resized); the file's other tensors are listed in the log as not used.
    static func loadConverted(_ converted: Converted, _ source: WeightSource, targets: [String: Tensor]) throws -> [String] {
        let (file, conversion) = (converted.file, converted.conversion)
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
            let stored = try resized(mapped.tensor, as: name, to: target, source, log: &lines)
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
        lines.insert("\(source.purpose) starts from \(converted.scheme)\(source.path) (\(converted.kind), \(pairs.count) tensors from \(sourceCount) in \(file))", at: 0)
        if !unused.isEmpty {
            unused.sort()
            let shown = unused.prefix(12).joined(separator: ", ")
            lines.append("\(file): not used (\(unused.count)): \(shown)" + (unused.count > 12 ? ", ..." : ""))
        }
        return lines
    }

    /// `stored` as the tensor `name` takes: resized bicubically (and logged) when it is a ViT position table
    /// (1 + g², W) the source may resize and the target has another grid of the same width; else as it is.
    static func resized(_ stored: Tensor, as name: String, to target: Tensor, _ source: WeightSource, log: inout [String]) throws -> Tensor {
        guard target.shape != stored.shape, source.resizedPositions.contains(name), target.rank == 2, stored.rank == 2,
              target.shape[1] == stored.shape[1], let from = ViT.squareGrid(rows: stored.shape[0]), let grid = ViT.squareGrid(rows: target.shape[0]) else {
            return stored
        }
        log.append("\(name): positions resized from a \(from)² grid to \(grid)² (bicubic)")
        return try ViT.resizePositionEmbedding(stored, toGrid: grid)
    }
}
