// Binary arithmetic with NumPy broadcasting (add, sub, mul, div, maximum, minimum) and tensor-scalar
// arithmetic, each with its gradient beside it. Gradients are un-broadcast by Kernels.sumToShape.

extension Tensor {
    /// z = f(x, y) with broadcasting; `grads` gives (dz/dx * g, dz/dy * g) as full-size tensors, which
    /// are then summed back to each input's shape.
    static func broadcastBinary(
        _ op: String, _ x: Tensor, _ y: Tensor, _ f: @escaping (F8, F8) -> F8,
        grads: @escaping (_ g: Tensor, _ x: Tensor, _ y: Tensor, _ outShape: [Int]) throws -> (Tensor?, Tensor?)
    ) throws -> Tensor {
        let outShape = try ShapeUtil.broadcast(x.shape, y.shape, op: op)
        let out = Tensor(uninitialized: outShape)
        Kernels.broadcastZip(x.pointer, x.shape, y.pointer, y.shape, out.pointer, outShape, f)
        return Autograd.record(out, op, [x, y]) { g in
            let (gx, gy) = try grads(g, x, y, outShape)
            if x.requiresGrad, let gx {
                let (p, beta) = x.gradTarget()
                Kernels.sumToShape(gx.pointer, outShape, p, x.shape, beta: beta)
            }
            if y.requiresGrad, let gy {
                let (p, beta) = y.gradTarget()
                Kernels.sumToShape(gy.pointer, outShape, p, y.shape, beta: beta)
            }
        }
    }

    /// Elementwise product of two full-size (outShape) operands, where `a` or `b` may need broadcasting.
    static func product(_ a: Tensor, _ b: Tensor, _ shape: [Int], _ f: @escaping (F8, F8) -> F8) -> Tensor {
        let out = Tensor(uninitialized: shape)
        Kernels.broadcastZip(a.pointer, a.shape, b.pointer, b.shape, out.pointer, shape, f)
        return out
    }

    public static func + (x: Tensor, y: Tensor) throws -> Tensor {
        try broadcastBinary("add", x, y, { $0 + $1 }) { g, _, _, _ in (g, g) }
    }

    public static func - (x: Tensor, y: Tensor) throws -> Tensor {
        try broadcastBinary("sub", x, y, { $0 - $1 }) { g, _, y, shape in
            (g, y.requiresGrad ? product(g, g, shape) { a, _ in -a } : nil)
        }
    }

    public static func * (x: Tensor, y: Tensor) throws -> Tensor {
        try broadcastBinary("mul", x, y, { $0 * $1 }) { g, x, y, shape in
            (x.requiresGrad ? product(g, y, shape) { $0 * $1 } : nil,
             y.requiresGrad ? product(g, x, shape) { $0 * $1 } : nil)
        }
    }

    public static func / (x: Tensor, y: Tensor) throws -> Tensor {
        try broadcastBinary("div", x, y, { $0 / $1 }) { g, x, y, shape in
            let gx = product(g, y, shape) { $0 / $1 }  // g / y
            var gy: Tensor? = nil
            if y.requiresGrad {
                // -g x / y^2 = -(g / y) * (x / y)
                let xy = product(x, y, shape) { $0 / $1 }
                gy = product(gx, xy, shape) { -$0 * $1 }
            }
            return (x.requiresGrad ? gx : nil, gy)
        }
    }

    /// Elementwise maximum; the gradient goes to x where x >= y, else to y.
    public static func maximum(_ x: Tensor, _ y: Tensor) throws -> Tensor {
        try broadcastBinary("maximum", x, y, { SIMDMath.maximum($0, $1) }) { g, x, y, shape in
            let xWins = product(x, y, shape) { a, b in F8(repeating: 1).replacing(with: 0, where: a .< b) }
            return (product(g, xWins, shape) { $0 * $1 }, product(g, xWins, shape) { $0 * (1 - $1) })
        }
    }

    /// Elementwise minimum; the gradient goes to x where x <= y, else to y.
    public static func minimum(_ x: Tensor, _ y: Tensor) throws -> Tensor {
        try broadcastBinary("minimum", x, y, { SIMDMath.minimum($0, $1) }) { g, x, y, shape in
            let xWins = product(x, y, shape) { a, b in F8(repeating: 1).replacing(with: 0, where: a .> b) }
            return (product(g, xWins, shape) { $0 * $1 }, product(g, xWins, shape) { $0 * (1 - $1) })
        }
    }

    // MARK: scalar arithmetic

    /// y = a * x + b elementwise (the scalar affine map; also negation, scaling, shifting).
    public func affine(scale a: Float, shift b: Float = 0) -> Tensor {
        let out = Tensor(uninitialized: shape)
        Kernels.map(pointer, out.pointer, count) { $0 * a + b }
        return Autograd.record(out, "affine", [self]) { [self] g in
            let (p, beta) = gradTarget()
            Kernels.axpby(a, g.pointer, beta, p, count)
        }
    }

    public static prefix func - (x: Tensor) -> Tensor { x.affine(scale: -1) }
    public static func * (x: Tensor, s: Float) -> Tensor { x.affine(scale: s) }
    public static func * (s: Float, x: Tensor) -> Tensor { x.affine(scale: s) }
    public static func / (x: Tensor, s: Float) -> Tensor { x.affine(scale: 1 / s) }
    public static func + (x: Tensor, s: Float) -> Tensor { x.affine(scale: 1, shift: s) }
    public static func + (s: Float, x: Tensor) -> Tensor { x.affine(scale: 1, shift: s) }
    public static func - (x: Tensor, s: Float) -> Tensor { x.affine(scale: 1, shift: -s) }
    public static func - (s: Float, x: Tensor) -> Tensor { x.affine(scale: -1, shift: s) }
}
