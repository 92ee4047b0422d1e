// Converting a state dict saved by PyTorch (Hugging Face transformers, open_clip, torchvision) into Carina's
// tensor names by a name map: each Carina tensor is made from one or more named source tensors, joined or
// reshaped as the map says. Every source tensor is either used once or reported as not used; every Carina
// tensor of the map is either found or reported as missing (with the source names it needed).
// The maps themselves: HFTextWeights (BERT, RoBERTa), HFCLIPWeights (CLIPModel).
// Not for: reading files (SafeTensors) or copying into a model (CarinaTrain's WeightLoader).
import CarinaNN

public enum HFWeights {
    /// One Carina tensor made from source tensors: its Carina name, the source names it came from (the
    /// file's own spelling), and the values.
    public struct Mapped {
        public let name: String
        public let sources: [String]
        public let tensor: Tensor
    }

    /// What a conversion found: the tensors, the source tensors not used (heads, integer buffers such as
    /// `position_ids`, layers beyond the model's), and the source names of Carina tensors the file lacks.
    public struct Conversion {
        public var tensors: [Mapped]
        public var unused: [String]
        public var missing: [String]
    }

    /// How source tensors become one Carina tensor.
    public enum Join: Equatable, Sendable {
        /// One source as it is, or several concatenated along the first axis (q, k, v into `qkv`).
        case concatenate
        /// A patch convolution's weight (W, C, p, p) as Carina's patch Linear (W, C'·p·p), pixels in (channel,
        /// row, col) order; C' = `channels`: the same C, or 1 from C by summing over the input channels (a
        /// grey image fed to every channel of an RGB stem gives the same output).
        case patchConvolution(channels: Int)
        /// A 1-element tensor of any rank as a scalar (open_clip stores logit_scale as shape []).
        case scalar
        /// A convolution's weight (out, C, k, k) kept 4-D, summed over its input channels to 1 for grey
        /// images when `channels` is 1 and C is not (a stem).
        case convolution(channels: Int)
        /// A (in, out) matrix used as `x @ W` (open_clip's `proj`, `text_projection`) as Carina's (out, in) Linear.
        case transposed
    }

    public struct Entry {
        public let carina: String
        public let sources: [String]
        public let join: Join

        public init(_ carina: String, _ sources: [String], _ join: Join = .concatenate) {
            self.carina = carina
            self.sources = sources
            self.join = join
        }
    }

    /// Converts `stored` (and the names of its non-float tensors, `skipped`) by `entries`, each source name
    /// read after `prefix`. `canonical` maps a stored name to the one the map uses (old BERT's gamma/beta).
    /// Shapes that cannot be joined are errors naming the file and tensors.
    public static func convert(_ stored: [(name: String, tensor: Tensor)], skipped: [String] = [], file: String, prefix: String,
                               entries: [Entry], canonical: (String) -> String = { $0 }) throws -> Conversion {
        var byName: [String: (original: String, tensor: Tensor)] = [:]
        for (name, tensor) in stored { byName[canonical(name)] = (name, tensor) }
        var used: Set<String> = []
        var mapped: [Mapped] = []
        var missing: [String] = []
        for entry in entries {
            let found = entry.sources.map { byName[prefix + $0] }
            let absent = zip(entry.sources, found).filter { $0.1 == nil }.map { prefix + $0.0 }
            guard absent.isEmpty else {
                missing += absent
                continue
            }
            let parts = found.map { $0! }
            let tensor = try join(parts, entry: entry, file: file)
            used.formUnion(parts.map(\.original))
            mapped.append(Mapped(name: entry.carina, sources: parts.map(\.original), tensor: tensor))
        }
        let unused = stored.map(\.name).filter { !used.contains($0) } + skipped
        return Conversion(tensors: mapped, unused: unused.sorted(), missing: missing)
    }

    /// A convolution weight (out, C, k, k) as it is when C = `channels`, or summed over C to (out, 1, k, k) for
    /// grey images (in Double, so the sum does not depend on the order).
    static func summedChannels(_ weight: Tensor, name: String, channels: Int, file: String) throws -> Tensor {
        let (w, c, k) = (weight.shape[0], weight.shape[1], weight.shape[2] * weight.shape[3])
        if c == channels { return weight }
        guard channels == 1 else {
            throw InteropError(file: file, "tensor '\(name)' takes \(c) input channels but this model's images have \(channels); "
                               + "Carina sums an RGB stem's weights for grey images (1 channel) only")
        }
        let v = weight.scalars
        var out = [Float](repeating: 0, count: w * k)
        for o in 0..<w {
            for j in 0..<k {
                var sum = 0.0
                for i in 0..<c { sum += Double(v[(o * c + i) * k + j]) }
                out[o * k + j] = Float(sum)
            }
        }
        return Tensor(shape: [w, 1, weight.shape[2], weight.shape[3]], values: out)
    }

    static func join(_ parts: [(original: String, tensor: Tensor)], entry: Entry, file: String) throws -> Tensor {
        switch entry.join {
        case .concatenate:
            for part in parts.dropFirst() where part.tensor.shape != parts[0].tensor.shape {
                throw InteropError(file: file, "tensor '\(part.original)' has shape \(part.tensor.shape) but '\(parts[0].original)' has "
                                   + "\(parts[0].tensor.shape); they are joined into Carina's \(entry.carina) and must agree")
            }
            return parts.count == 1 ? parts[0].tensor : try Autograd.withoutGrad { try Tensor.concat(parts.map(\.tensor), axis: 0) }
        case let .patchConvolution(channels):
            let (name, weight) = (parts[0].original, parts[0].tensor)
            guard weight.rank == 4, weight.shape[2] == weight.shape[3] else {
                throw InteropError(file: file, "tensor '\(name)' has shape \(weight.shape); a patch convolution's weight is (width, channels, patch, patch)")
            }
            let (w, c, p) = (weight.shape[0], weight.shape[1], weight.shape[2])
            return try summedChannels(weight, name: name, channels: channels, file: file).reshaped([w, (c == channels ? c : 1) * p * p])
        case let .convolution(channels):
            let (name, weight) = (parts[0].original, parts[0].tensor)
            guard weight.rank == 4, weight.shape[2] == weight.shape[3] else {
                throw InteropError(file: file, "tensor '\(name)' has shape \(weight.shape); a convolution's weight is (out, in, k, k)")
            }
            return try summedChannels(weight, name: name, channels: channels, file: file)
        case .transposed:
            let (name, matrix) = (parts[0].original, parts[0].tensor)
            guard matrix.rank == 2 else { throw InteropError(file: file, "tensor '\(name)' has shape \(matrix.shape); it must be a matrix") }
            return try Autograd.withoutGrad { try matrix.transposed(0, 1).copy() }
        case .scalar:
            let (name, value) = (parts[0].original, parts[0].tensor)
            guard value.count == 1 else { throw InteropError(file: file, "tensor '\(name)' has shape \(value.shape); it must hold one number") }
            return Tensor(value.scalars[0])
        }
    }
}
