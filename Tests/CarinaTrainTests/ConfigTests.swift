// Configs: omitted keys keep defaults, unknown keys and wrong types are rejected with their path.
import Testing
import CarinaTrain

@Suite struct ConfigTests {
    func load(_ yaml: String) throws -> RunConfig {
        try ConfigLoader.decode(RunConfig.self, yaml: yaml, defaults: RunConfig(), source: "test.yaml")
    }

    func message(_ yaml: String) -> String {
        do {
            _ = try load(yaml)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func omittedKeysKeepTheirDefaults() throws {
        let c = try load("seed: 7\ntrain:\n  globalBatch: 32\n  learningRate: 1.0e-3\n")
        #expect(c.seed == 7 && c.train.globalBatch == 32 && c.train.learningRate == 1e-3)
        #expect(c.train.steps == TrainConfig().steps && c.data == DataConfig() && c.eval == EvalConfig())
        #expect(try load("") == RunConfig())
        #expect(try load("train:\n  learningRate: 5e-4\n").train.learningRate == 5e-4)
    }

    @Test func unknownKeysAreRejectedWithPathAndSuggestion() {
        let m = message("train:\n  globalBatchSize: 32\n")
        #expect(m.contains("test.yaml") && m.contains("unknown key 'train.globalBatchSize'") && m.contains("did you mean 'train.globalBatch'"), "\(m)")
        #expect(message("trian:\n  steps: 3\n").contains("did you mean 'train'"))
    }

    @Test func wrongTypesNameTheKeyAndTheValue() {
        let m = message("train:\n  steps: many\n")
        #expect(m.contains("'train.steps'") && m.contains("an integer") && m.contains("'many'"), "\(m)")
        let n = message("data: 3\n")
        #expect(n.contains("'data' must be a mapping"), "\(n)")
        #expect(message("- a\n- b\n").contains("top level must be a mapping"))
    }

    @Test func resolvedConfigRoundTripsThroughYAML() throws {
        var c = RunConfig()
        c.train.steps = 17
        c.eval.probeFractions = [0.5, 1]
        let text = try ConfigLoader.yaml(c)
        #expect(try load(text) == c)
    }
}
