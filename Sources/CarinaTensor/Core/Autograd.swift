// Reverse-mode autograd by tape: each op records a GradFn (its inputs and a backward closure); backward()
// sorts the graph topologically and runs the closures in reverse, and gradients always accumulate.
// Not for: the ops themselves (Ops/), which record their GradFn next to their forward.

/// How an op's output was made: its differentiable inputs and the closure that pushes the output's
/// gradient into them. The closure must not capture the output tensor (that would be a cycle); ops that
/// need the output's values capture `out.detached()`. It only reads the gradient it is given (which may be
/// the caller's own seed tensor, see `backward`) and never keeps it.
final class GradFn {
    let op: String
    let inputs: [Tensor]
    let backward: (_ gradOut: Tensor) throws -> Void

    init(op: String, inputs: [Tensor], backward: @escaping (_ gradOut: Tensor) throws -> Void) {
        self.op = op
        self.inputs = inputs
        self.backward = backward
    }
}

public enum Autograd {
    /// Whether ops record a graph. Task-local, so each rank thread and each evaluation has its own.
    @TaskLocal public static var isEnabled = true
    /// Whether a backward pass calls leaves' `onGradReady` hooks: off inside a recomputed segment's own
    /// backward (`recomputed`), whose parameters are finished only when the outer pass says so.
    @TaskLocal static var callsGradHooks = true

    /// Runs `body` without recording gradients (evaluation, EMA updates, metrics).
    public static func withoutGrad<R>(_ body: () throws -> R) rethrows -> R {
        try $isEnabled.withValue(false) { try body() }
    }

    /// Records `backward` on `out` when gradient tracking is on and some input requires a gradient.
    @inline(__always)
    static func record(_ out: Tensor, _ op: String, _ inputs: [Tensor], _ backward: @escaping (_ gradOut: Tensor) throws -> Void) -> Tensor {
        OpProfile.forward(op)
        if isEnabled && inputs.contains(where: { $0.requiresGrad }) {
            out.requiresGrad = true
            out.gradFn = GradFn(op: op, inputs: inputs, backward: backward)
        }
        return out
    }
}

extension Tensor {
    /// Runs the backward pass from this tensor. With no `gradient`, the tensor must hold one element
    /// and the seed is 1. Intermediate gradients are freed as soon as they are consumed (unless
    /// `retainsGrad`); the graph is freed unless `retainGraph`.
    public func backward(_ gradient: Tensor? = nil, retainGraph: Bool = false) throws {
        guard requiresGrad else {
            throw TensorError.autograd("tensor \(shape) does not require grad (no parameter reached it, or it was made under withoutGrad)")
        }
        let seed: Tensor
        if let gradient {
            guard gradient.shape == shape else {
                throw TensorError.shapeMismatch(op: "backward", shapes: [shape, gradient.shape], detail: "seed gradient must match the tensor")
            }
            seed = gradient
        } else {
            guard count == 1 else {
                throw TensorError.autograd("backward() without a seed needs a one-element tensor, got shape \(shape)")
            }
            seed = Tensor.ones(shape)
        }

        // Topological order of the non-leaf tensors reachable from self (iterative DFS, post-order),
        // and for each leaf that requires grad, how many graph edges lead into it.
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var pendingEdges: [ObjectIdentifier: Int] = [:]
        var stack: [(Tensor, Int)] = [(self, 0)]
        visited.insert(ObjectIdentifier(self))
        while let (node, next) = stack.popLast() {
            guard let fn = node.gradFn else { continue }
            if next < fn.inputs.count {
                stack.append((node, next + 1))
                let input = fn.inputs[next]
                guard input.requiresGrad else { continue }
                if input.gradFn == nil {
                    pendingEdges[ObjectIdentifier(input), default: 0] += 1
                }
                if visited.insert(ObjectIdentifier(input)).inserted {
                    stack.append((input, 0))
                }
            } else {
                order.append(node)
            }
        }

        if gradFn != nil && grad == nil && !retainsGrad {
            // The seed is only read (by this tensor's backward closure) and this tensor's gradient is
            // dropped once that has run: no copy (a benchmark's attention spent 3 % of its time copying its seed).
            grad = seed
        } else {
            accumulateGrad(seed)
        }
        for node in order.reversed() {
            guard let fn = node.gradFn else { continue }
            if let g = node.grad {
                try OpProfile.backward(fn.op) { try fn.backward(g) }
            }
            for input in fn.inputs where input.requiresGrad && input.gradFn == nil {
                let id = ObjectIdentifier(input)
                let left = pendingEdges[id]! - 1
                pendingEdges[id] = left
                if left == 0, let hook = input.onGradReady, Autograd.callsGradHooks {
                    hook(input)
                }
            }
            if !retainGraph { node.gradFn = nil }
            if !node.retainsGrad { node.grad = nil }
        }
        if gradFn == nil, let hook = onGradReady, order.isEmpty, Autograd.callsGradHooks {
            hook(self)
        }
    }

    /// Adds `g` into this tensor's gradient. With `transfer`, the caller hands `g` over and it may be
    /// adopted as the gradient without a copy (the caller must not use `g` afterwards).
    func accumulateGrad(_ g: Tensor, transfer: Bool = false) {
        if let existing = grad {
            Kernels.add(existing.pointer, g.pointer, existing.pointer, count)
        } else if transfer && g.count == count {
            grad = g.shape == shape ? g : Tensor(shape: shape, storage: g.storage, offset: g.offset)
        } else {
            let fresh = Tensor(uninitialized: shape)
            Kernels.accumulate(g.pointer, into: fresh.pointer, count, beta: 0)
            grad = fresh
        }
    }

    /// A buffer for this tensor's gradient and the factor to keep what it holds: (pointer, 0) means
    /// a fresh, uninitialised buffer the caller must overwrite; (pointer, 1) means add to it.
    func gradTarget() -> (UnsafeMutablePointer<Float>, Float) {
        if let existing = grad { return (existing.pointer, 1) }
        let fresh = Tensor(uninitialized: shape)
        grad = fresh
        return (fresh.pointer, 0)
    }

    /// This tensor's gradient buffer, zero-filled on first use (for kernels that scatter into it).
    func gradZeroed() -> UnsafeMutablePointer<Float> {
        if let existing = grad { return existing.pointer }
        let fresh = Tensor.zeros(shape)
        grad = fresh
        return fresh.pointer
    }
}

extension Autograd {
    /// Defines a differentiable op outside this module (a collective, a custom kernel): `output` was
    /// computed from `inputs`; `backward` receives the output's gradient and returns one gradient per
    /// input (nil for none), each the input's shape, which are accumulated into the inputs.
    public static func custom(_ op: String, output: Tensor, inputs: [Tensor],
                              backward: @escaping (_ gradOut: Tensor) throws -> [Tensor?]) -> Tensor {
        record(output, op, inputs) { g in
            let grads = try backward(g)
            guard grads.count == inputs.count else {
                throw TensorError.autograd("\(op): backward returned \(grads.count) gradients for \(inputs.count) inputs")
            }
            for (x, dx) in zip(inputs, grads) where x.requiresGrad {
                guard let dx else { continue }
                guard dx.count == x.count else {
                    throw TensorError.shapeMismatch(op: op, shapes: [x.shape, dx.shape], detail: "gradient must match its input")
                }
                x.accumulateGrad(dx)
            }
        }
    }
}

extension Autograd {
    /// Activation recomputation ("gradient checkpointing"): runs `body` on `inputs` without keeping any
    /// tensor it makes along the way, and runs it again during backward to back-propagate through it.
    /// Only the inputs and the output stay alive between forward and backward, so a stack of recomputed
    /// blocks holds one block's intermediate activations at a time instead of every block's, for about one
    /// extra forward pass of compute.
    ///
    /// `parameters` are the tensors `body` reads besides `inputs` (a module's weights): gradients reach
    /// them and the inputs exactly as if `body` had been recorded, and their `onGradReady` hooks fire once,
    /// when the outer backward pass is done with them. `body` must compute the same values when run again:
    /// no state it updates (BatchNorm statistics), randomness only by explicit keys.
    public static func recomputed(_ op: String, inputs: [Tensor], parameters: [Tensor],
                                  _ body: @escaping ([Tensor]) throws -> Tensor) throws -> Tensor {
        let tracked = inputs + parameters
        guard isEnabled, tracked.contains(where: { $0.requiresGrad }) else { return try body(inputs) }
        let out = try withoutGrad { try body(inputs) }
        return record(out, op, tracked) { gradOut in
            // The same inputs again (shared storage), as leaves of a graph of their own that accumulate
            // into the inputs' own gradient buffers: the same additions in the same order as a recorded
            // graph, so the gradients are bit-identical. An input passed twice is one leaf.
            var made: [ObjectIdentifier: Tensor] = [:]
            let leaves = inputs.map { x -> Tensor in
                if let leaf = made[ObjectIdentifier(x)] { return leaf }
                let leaf = x.detached()
                leaf.requiresGrad = x.requiresGrad
                leaf.grad = x.grad
                made[ObjectIdentifier(x)] = leaf
                return leaf
            }
            let again = try $isEnabled.withValue(true) { try body(leaves) }
            guard again.shape == out.shape else {
                throw TensorError.autograd("\(op): recomputation gave shape \(again.shape), the forward pass \(out.shape)")
            }
            guard again.requiresGrad else { return }
            try $callsGradHooks.withValue(false) { try again.backward(gradOut) }
            for (x, leaf) in zip(inputs, leaves) where x.requiresGrad && x.grad == nil { x.grad = leaf.grad }
        }
    }
}
