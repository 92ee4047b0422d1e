// Modules: layers as small classes whose weights are stored properties, found by reflection and named
// by property path (`encoder.blocks.3.attn.qkv.weight`), in declaration order. Not for: the math (ops
// live in CarinaTensor) or optimisation (Optim/).
@_exported import CarinaTensor

/// A non-trainable tensor that belongs to a module's state (BatchNorm running statistics): saved in
/// checkpoints and broadcast at start like parameters, but never given to an optimizer.
public final class Buffer: @unchecked Sendable {
    public let tensor: Tensor
    public init(_ tensor: Tensor) { self.tensor = tensor }
}

/// A named parameter, as modules list them.
public struct NamedParameter {
    public let name: String
    public let tensor: Tensor
    /// Whether decoupled weight decay applies: false for biases, norm weights, embeddings, tokens and
    /// other one-dimensional or exempted parameters (a method's parameter groups may say otherwise).
    public let decays: Bool
    /// The factor on the optimizer's learning rate for this parameter (a method's parameter group: M3AE
    /// trains its heads and fusion at 5x).
    public let learningRateScale: Float

    public init(name: String, tensor: Tensor, decays: Bool, learningRateScale: Float = 1) {
        self.name = name
        self.tensor = tensor
        self.decays = decays
        self.learningRateScale = learningRateScale
    }
}

/// Base class of every layer and model. Subclasses declare parameters as stored `Tensor` properties
/// (optionals and arrays allowed), buffers as `Buffer` properties and submodules as `Module` properties
/// (optionals and arrays allowed); names and order follow the declarations.
open class Module {
    /// Training mode (dropout active, BatchNorm uses batch statistics). Set with `train()` / `eval()`;
    /// a frozen module stays in evaluation mode whatever `train()` is called on.
    public private(set) var isTraining = true
    /// Frozen by `freeze()`: its parameters get no gradient and it stays in evaluation mode (a frozen
    /// backbone's BatchNorm keeps its running statistics, its dropout is off).
    public private(set) var isFrozen = false

    /// Property names of parameters that are exempt from weight decay even if they have two or more
    /// axes (embedding tables, class tokens, positional embeddings).
    open var weightDecayExempt: Set<String> { [] }

    public init() {}

    // MARK: reflection

    private enum Entry {
        case parameter(String, Tensor)
        case buffer(String, Tensor)
        case child(String, Module)
    }

    /// This module's own entries in declaration order (superclass properties first).
    private func entries() -> [Entry] {
        var mirrors: [Mirror] = []
        var m: Mirror? = Mirror(reflecting: self)
        while let current = m {
            mirrors.append(current)
            m = current.superclassMirror
        }
        var out: [Entry] = []
        for mirror in mirrors.reversed() {
            for child in mirror.children {
                guard let label = child.label else { continue }
                Module.collect(label, child.value, into: &out)
            }
        }
        return out
    }

    private static func collect(_ name: String, _ value: Any, into out: inout [Entry]) {
        switch value {
        case let t as Tensor: out.append(.parameter(name, t))
        case let b as Buffer: out.append(.buffer(name, b.tensor))
        case let m as Module: out.append(.child(name, m))
        case let ts as [Tensor]: for (i, t) in ts.enumerated() { out.append(.parameter("\(name).\(i)", t)) }
        case let ms as [Module]: for (i, m) in ms.enumerated() { out.append(.child("\(name).\(i)", m)) }
        case let bs as [Buffer]: for (i, b) in bs.enumerated() { out.append(.buffer("\(name).\(i)", b.tensor)) }
        default:
            // Optionals: unwrap one level and look again.
            let mirror = Mirror(reflecting: value)
            if mirror.displayStyle == .optional, let some = mirror.children.first {
                collect(name, some.value, into: &out)
            }
        }
    }

    /// Direct submodules with their property names.
    public var namedChildren: [(name: String, module: Module)] {
        entries().compactMap { if case let .child(n, m) = $0 { return (n, m) } else { return nil } }
    }

    /// Every parameter of this module and its submodules (trainable or frozen), depth first in
    /// declaration order, with dotted names. Names are also written into each tensor's `name`.
    public var namedParameters: [NamedParameter] {
        var out: [NamedParameter] = []
        visitParameters(prefix: "") { out.append($0) }
        return out
    }

    private func visitParameters(prefix: String, _ body: (NamedParameter) -> Void) {
        let exempt = weightDecayExempt
        for entry in entries() {
            switch entry {
            case let .parameter(n, t):
                let full = prefix + n
                if t.name == nil { t.name = full }
                let baseName = String(n.split(separator: ".").first ?? Substring(n))
                body(NamedParameter(name: full, tensor: t, decays: t.rank >= 2 && !exempt.contains(baseName)))
            case let .child(n, m):
                m.visitParameters(prefix: prefix + n + ".", body)
            case .buffer:
                break
            }
        }
    }

    /// Parameters that train (not frozen).
    public var trainableParameters: [NamedParameter] { namedParameters.filter { $0.tensor.requiresGrad } }

    /// Every buffer of this module and its submodules, with dotted names.
    public var namedBuffers: [(name: String, tensor: Tensor)] {
        var out: [(String, Tensor)] = []
        func visit(_ m: Module, _ prefix: String) {
            for entry in m.entries() {
                switch entry {
                case let .buffer(n, t): out.append((prefix + n, t))
                case let .child(n, c): visit(c, prefix + n + ".")
                case .parameter: break
                }
            }
        }
        visit(self, "")
        return out
    }

    /// The module's whole state in checkpoint order: every parameter, then every buffer, by dotted name.
    /// Checkpoints, replica checks and weight loading all use this one list.
    public var namedState: [(name: String, tensor: Tensor)] {
        namedParameters.map { (name: $0.name, tensor: $0.tensor) } + namedBuffers
    }

    /// All modules in the tree, this one first, depth first.
    public var allModules: [Module] {
        namedModules.map(\.module)
    }

    /// Every module in the tree with its dotted path ("" for this one), depth first in declaration order.
    public var namedModules: [(name: String, module: Module)] {
        var out: [(String, Module)] = []
        func visit(_ m: Module, _ path: String) {
            out.append((path, m))
            for (n, c) in m.namedChildren { visit(c, path.isEmpty ? n : path + "." + n) }
        }
        visit(self, "")
        return out
    }

    /// The submodule at a dotted path (`visual.encoder.blocks.0`), or nil.
    public func module(at path: String) -> Module? {
        namedModules.first { $0.name == path }?.module
    }

    /// Number of scalars in all parameters (`trainableOnly`: only those not frozen).
    public func parameterCount(trainableOnly: Bool = false) -> Int {
        (trainableOnly ? trainableParameters : namedParameters).reduce(0) { $0 + $1.tensor.count }
    }

    // MARK: modes

    /// Switches this module and every submodule to training (`true`) or evaluation mode; frozen
    /// submodules stay in evaluation mode.
    public func train(_ on: Bool = true) {
        for m in allModules { m.isTraining = on && !m.isFrozen }
    }

    /// Evaluation mode: dropout off, BatchNorm uses running statistics.
    public func eval() { train(false) }

    /// Stops this subtree from training: no gradient is computed for its parameters, optimizers built
    /// afterwards do not see them, and it stays in evaluation mode (PsPG's frozen CLIP, a frozen
    /// ResNet's BatchNorm: running statistics used and left as they are).
    public func freeze() {
        for m in allModules {
            m.isFrozen = true
            m.isTraining = false
        }
        for p in namedParameters { p.tensor.requiresGrad = false; p.tensor.grad = nil }
    }

    /// Lets this subtree train again (its mode follows the next `train()` / `eval()`).
    public func unfreeze() {
        for m in allModules { m.isFrozen = false }
        for p in namedParameters { p.tensor.requiresGrad = true }
    }

    /// Which modules are frozen and which parameters train: a snapshot to return to (training stages
    /// freeze parts of a model on top of what the method froze for good).
    public struct FreezeState {
        let frozenModules: Set<ObjectIdentifier>
        let frozenParameters: Set<ObjectIdentifier>
    }

    public var freezeState: FreezeState {
        FreezeState(frozenModules: Set(allModules.filter(\.isFrozen).map(ObjectIdentifier.init)),
                    frozenParameters: Set(namedParameters.filter { !$0.tensor.requiresGrad }.map { ObjectIdentifier($0.tensor) }))
    }

    /// Returns every module and parameter of the tree to `state` (gradients of frozen ones dropped) and
    /// sets the mode: training for modules not frozen when `training`, evaluation otherwise.
    public func restore(_ state: FreezeState, training: Bool) {
        for m in allModules {
            m.isFrozen = state.frozenModules.contains(ObjectIdentifier(m))
            m.isTraining = training && !m.isFrozen
        }
        for p in namedParameters {
            let trains = !state.frozenParameters.contains(ObjectIdentifier(p.tensor))
            p.tensor.requiresGrad = trains
            if !trains { p.tensor.grad = nil }
        }
    }

    /// Clears the gradients of all parameters (zeroes them in place where they live in a flat block).
    public func zeroGrad() {
        for p in namedParameters { p.tensor.zeroGrad() }
    }
}

/// A parameter tensor (requires grad) from initial values.
@inlinable
public func parameter(_ t: Tensor) -> Tensor {
    t.requiresGrad = true
    return t
}
