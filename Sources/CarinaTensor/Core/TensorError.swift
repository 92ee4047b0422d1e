// The error type of the tensor layer: every failed op says which op and which shapes it was given.

public enum TensorError: Error, CustomStringConvertible, Equatable {
    /// Operand shapes that do not fit together, e.g. matmul of (2, 3) and (4, 5).
    case shapeMismatch(op: String, shapes: [[Int]], detail: String)
    /// An operand with the wrong number of axes.
    case wrongRank(op: String, shape: [Int], expected: String)
    /// An axis or index outside the tensor.
    case outOfRange(op: String, detail: String)
    /// An argument that makes no sense (negative size, zero heads, ...).
    case invalidArgument(op: String, detail: String)
    /// backward() called on something that cannot start a backward pass.
    case autograd(String)

    public var description: String {
        func fmt(_ s: [Int]) -> String { "(" + s.map(String.init).joined(separator: ", ") + ")" }
        switch self {
        case let .shapeMismatch(op, shapes, detail):
            return "\(op): incompatible shapes \(shapes.map(fmt).joined(separator: " and "))" + (detail.isEmpty ? "" : ": \(detail)")
        case let .wrongRank(op, shape, expected):
            return "\(op): expected \(expected), got shape \(fmt(shape)) with \(shape.count) axes"
        case let .outOfRange(op, detail):
            return "\(op): \(detail)"
        case let .invalidArgument(op, detail):
            return "\(op): \(detail)"
        case let .autograd(detail):
            return "backward: \(detail)"
        }
    }
}

/// Shape helpers shared by ops.
@usableFromInline enum ShapeUtil {
    /// Normalises a possibly negative axis, or throws naming the op.
    static func axis(_ axis: Int, rank: Int, op: String) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0 && a < max(rank, 1) else {
            throw TensorError.outOfRange(op: op, detail: "axis \(axis) out of range for \(rank) axes")
        }
        return a
    }

    /// NumPy broadcasting of two shapes, or throws naming the op and both shapes.
    static func broadcast(_ a: [Int], _ b: [Int], op: String) throws -> [Int] {
        let n = max(a.count, b.count)
        var out = [Int](repeating: 1, count: n)
        for i in 0..<n {
            let da = i < n - a.count ? 1 : a[i - (n - a.count)]
            let db = i < n - b.count ? 1 : b[i - (n - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else {
                throw TensorError.shapeMismatch(op: op, shapes: [a, b], detail: "cannot broadcast axis \(i): \(da) vs \(db)")
            }
        }
        return out
    }

    /// Row-major strides of a shape.
    static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    /// (outer, n, inner) sizes around `axis`.
    static func split(_ shape: [Int], axis: Int) -> (outer: Int, n: Int, inner: Int) {
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        return (outer, shape[axis], inner)
    }
}
