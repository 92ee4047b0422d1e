// `carina plot RUN_DIR`: draws the run's loss, learning-rate and evaluation curves from metrics.jsonl into
// an SVG a person can open (RUN_DIR/curves.svg unless --out says otherwise).

import ArgumentParser
import CarinaTrain

struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plot", abstract: "Draw a run's curves to SVG.")

    @Argument(help: "The run directory (holds metrics.jsonl).")
    var runDirectory: String

    @Option(help: "Where to write the SVG (default RUN_DIR/curves.svg).")
    var out: String?

    func run() throws {
        print(try Plot.write(runDirectory: runDirectory, output: out))
    }
}
