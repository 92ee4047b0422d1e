// `carina model describe --config FILE`: the model a config builds, parameter by parameter (dotted names as
// checkpoints and safetensors exports use them), with shapes, counts, whether they train or decay, and
// their learning-rate factor where the method's parameter groups set one.

import ArgumentParser
import CarinaTrain
import Foundation

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Inspect the model a config builds.",
        subcommands: [ModelDescribeCommand.self]
    )
}

struct ModelDescribeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe", abstract: "List every parameter: name, shape, count, trains, decays.")

    @Option(help: "A run config (configs/*.yaml).")
    var config: String

    @Option(help: "Vocabulary size to assume (default: the config's data.vocabularySize).")
    var vocabularySize: Int?

    func run() throws {
        let file = try RunConfigFile(path: config)
        let (method, _) = try file.buildMethod(classNames: [], vocabularySize: vocabularySize ?? file.run.data.vocabularySize)
        let parameters = method.model.namedParameters
        let width = parameters.map(\.name.count).max() ?? 0
        for p in parameters {
            let shape = "(" + p.tensor.shape.map(String.init).joined(separator: ", ") + ")"
            let group = method.parameterGroup(p)
            let fields = [p.name.padding(toLength: width, withPad: " ", startingAt: 0), shape.padding(toLength: 16, withPad: " ", startingAt: 0),
                          String(p.tensor.count).padding(toLength: 10, withPad: " ", startingAt: 0),
                          p.tensor.requiresGrad ? "trains" : "frozen", group.decays ? "decay" : "no-decay"]
            print((fields + (group.learningRateScale == 1 ? [] : ["lr x\(group.learningRateScale)"])).joined(separator: " "))
        }
        let total = parameters.reduce(0) { $0 + $1.tensor.count }
        print("\(parameters.count) tensors, \(total) parameters (\(String(format: "%.2f", Double(total) / 1e6)) M)")
    }
}
