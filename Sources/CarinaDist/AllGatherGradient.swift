// All-gather with gradient, for InfoNCE over global negatives: forward concatenates every rank's rows in
// rank order; backward reduce-scatters the gradient, so each rank receives the sum over all ranks of the
// gradient for its own rows. Used with the local-loss form (this rank's rows against all columns), memory
// grows with local × global batch, not global².
import CarinaNN

extension Communicator {
    /// x (b, ...) with the same shape on every rank -> (size·b, ...), rows of rank r at r·b..<(r+1)·b.
    public func allGatherWithGradient(_ x: Tensor) throws -> Tensor {
        guard x.rank >= 1 else {
            throw TensorError.wrongRank(op: "all_gather", shape: x.shape, expected: "rows along axis 0")
        }
        if size == 1 { return x }
        let shapes = try OpProfile.section("communication") { try allGather([Int64(x.count), Int64(x.shape[0])]) }
        for r in 0..<size where shapes[2 * r] != Int64(x.count) || shapes[2 * r + 1] != Int64(x.shape[0]) {
            throw DistError.bufferMismatch(call: "all_gather",
                                           detail: "rank \(r) gathers \(shapes[2 * r + 1]) rows of \(shapes[2 * r]) values, rank \(rank) \(x.shape)")
        }
        var outShape = x.shape
        outShape[0] *= size
        let out = Tensor(uninitialized: outShape)
        try OpProfile.section("communication") {
            try allGather(UnsafeBufferPointer(start: x.pointer, count: x.count),
                          into: UnsafeMutableBufferPointer(start: out.pointer, count: out.count))
        }
        return Autograd.custom("all_gather", output: out, inputs: [x]) { g in
            let dx = Tensor(uninitialized: x.shape)
            try OpProfile.section("communication") {
                try self.reduceScatterSum(UnsafeBufferPointer(start: g.pointer, count: g.count),
                                          into: UnsafeMutableBufferPointer(start: dx.pointer, count: dx.count))
            }
            return [dx]
        }
    }
}
