// The methods a config can name: every method folder in CarinaModels defines its registration, and the
// list below names each once — adding a method is one line here. Tests (and tools) may register more at
// run time. Not for: the methods themselves.
import CarinaModels
import Synchronization

public enum MethodRegistry {
    /// The methods Carina ships.
    public static let builtIn: [MethodRegistration] = [
        CLIPMethod.registration,
        FineTuneMethod.registration,
        PromptLearningMethod.registration, PromptLearningMethod.coopRegistration, PromptLearningMethod.dualCoOpRegistration,
        M3AEMethod.registration, M3AEFineTuneMethod.registration,
        PRIORMethod.registration,
    ]

    private static let added = Mutex<[MethodRegistration]>([])

    /// Every method a config can name: the built-in ones, then those registered at run time.
    public static var all: [MethodRegistration] { builtIn + added.withLock { $0 } }

    /// Makes `registration` nameable in configs (replacing one registered earlier under its name).
    public static func register(_ registration: MethodRegistration) {
        added.withLock { list in
            list.removeAll { $0.name == registration.name }
            list.append(registration)
        }
    }

    public static func registration(_ name: String, source: String) throws -> MethodRegistration {
        guard let r = all.last(where: { $0.name == name }) else {
            throw ConfigError("\(source): unknown method '\(name)'; known methods: \(all.map(\.name).joined(separator: ", "))")
        }
        return r
    }
}
