// The element types a collective may carry (Float for gradients, Int64/UInt8 for counters and checksums).
// Not for: mapping them to a transport's own type codes; each communicator does that from `scalarKind`.

/// What a communicator needs to know about an element type to move and sum it.
public enum ScalarKind: Sendable, Equatable {
    case float32, float64, int32, int64, uint8
}

/// An element type that collectives can send and sum.
public protocol CommunicatorScalar: Numeric, BitwiseCopyable, Sendable {
    static var scalarKind: ScalarKind { get }
}

extension Float: CommunicatorScalar { public static var scalarKind: ScalarKind { .float32 } }
extension Double: CommunicatorScalar { public static var scalarKind: ScalarKind { .float64 } }
extension Int32: CommunicatorScalar { public static var scalarKind: ScalarKind { .int32 } }
extension Int64: CommunicatorScalar { public static var scalarKind: ScalarKind { .int64 } }
extension UInt8: CommunicatorScalar { public static var scalarKind: ScalarKind { .uint8 } }
