// `carina model describe --config FILE`: the model a config builds, parameter by parameter (dotted names as
// checkpoints and safetensors exports use them), with shapes, counts, whether they train or decay, and
// their learning-rate factor where the method's parameter groups set one.

import ArgumentParser
import CarinaData
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

    @Option(help: "Findings a classifier head scores, comma-separated (default: the phantoms' less data.holdOutClasses).")
    var classes: String?

    func run() throws {
        let file = try RunConfigFile(path: config)
        // A method with a per-finding head (fine-tuning, prompt learning) needs the findings it is built for.
        let findings = classes.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
            ?? PhantomFindings.classNames.filter { !file.run.data.holdOutClasses.contains($0) }
        let (method, _) = try file.buildMethod(classNames: findings, vocabularySize: vocabularySize ?? file.run.data.vocabularySize)
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
