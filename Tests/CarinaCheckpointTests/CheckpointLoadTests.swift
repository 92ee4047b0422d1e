// Loading a checkpoint into a model that does not fit it is an error naming the tensor, both shapes and the
// file, and changes nothing; a fitting model gets every value. Not for: reading the file (CheckpointFileTests).
import CarinaCheckpoint
import CarinaTensor
import Testing

@Suite struct CheckpointLoadTests {
    /// Zeroed tensors with the names and shapes of `named`.
    func zeros(like named: [(name: String, tensor: Tensor)]) -> [(name: String, tensor: Tensor)] {
        named.map { ($0.name, Tensor.zeros($0.tensor.shape)) }
    }

    @Test func aFittingModelReceivesEveryValue() throws {
        let path = try temporaryDirectory() + "/a.ckpt"
        let saved = randomContents(step: 2)
        try CheckpointFile.write(saved, to: path)
        let model = zeros(like: saved.model), optimizer = zeros(like: saved.optimizer)
        try CheckpointFile.load(path, into: model.reversed(), group: "model")  // by name, not by position
        try CheckpointFile.load(path, into: optimizer, group: "optimizer")
        #expect(zip(model + optimizer, saved.model + saved.optimizer).allSatisfy { bits($0.tensor) == bits($1.tensor) })
    }

    @Test func aShapeMismatchNamesTheTensorBothShapesAndTheFile() throws {
        let path = try temporaryDirectory() + "/a.ckpt"
        let saved = randomContents(step: 2)
        try CheckpointFile.write(saved, to: path)
        var model = zeros(like: saved.model)
        model[0] = ("encoder.weight", Tensor.zeros([16, 4]))
        let text = errorText { try CheckpointFile.load(path, into: model, group: "model") }
        #expect(text == "checkpoint \(path) does not fit: model tensor 'encoder.weight' has shape [16, 8] in the checkpoint but [16, 4] in the model being loaded")
        #expect(model.allSatisfy { $0.tensor.scalars.allSatisfy { $0 == 0 } }, "a failed load must change nothing")
    }

    @Test func aMissingTensorIsNamed() throws {
        let path = try temporaryDirectory() + "/a.ckpt"
        let saved = randomContents(step: 2)
        try CheckpointFile.write(saved, to: path)
        let model = zeros(like: saved.model) + [("text.projection.weight", Tensor.zeros([8, 4]))]
        let text = errorText { try CheckpointFile.load(path, into: model, group: "model") }
        #expect(text == "checkpoint \(path) does not fit: model tensor 'text.projection.weight' (shape [8, 4]) is missing from the checkpoint")
        #expect(model.allSatisfy { $0.tensor.scalars.allSatisfy { $0 == 0 } })
    }

    @Test func anExtraTensorInTheCheckpointIsNamed() throws {
        let path = try temporaryDirectory() + "/a.ckpt"
        let saved = randomContents(step: 2)
        try CheckpointFile.write(saved, to: path)
        let optimizer = zeros(like: saved.optimizer).filter { !$0.name.hasPrefix("exp_avg_sq") }
        let text = errorText { try CheckpointFile.load(path, into: optimizer, group: "optimizer") }
        #expect(text == "checkpoint \(path) does not fit: the checkpoint has optimizer tensor 'exp_avg_sq.encoder.weight' (shape [16, 8]) "
                + "that the optimizer being loaded does not")
    }

    @Test func anUnknownGroupIsAnError() throws {
        let path = try temporaryDirectory() + "/a.ckpt"
        try CheckpointFile.write(randomContents(step: 2), to: path)
        #expect(errorText { try CheckpointFile.load(path, into: [], group: "ema") }?.contains("no group 'ema'") == true)
    }
}
