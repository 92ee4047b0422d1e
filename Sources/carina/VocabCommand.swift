// `carina vocab build`: a deterministic WordPiece vocabulary (BERT vocab.txt format) from report files:
// plain text (one report per line) or a CSV column.

import ArgumentParser
import CarinaData
import Foundation

struct VocabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "vocab", abstract: "Build WordPiece vocabularies.",
                                                    subcommands: [VocabBuildCommand.self])
}

struct VocabBuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "build", abstract: "Build a vocab.txt from a corpus of reports.")

    @Option(name: .customLong("corpus"), parsing: .upToNextOption, help: "Text files (a report per line) or CSV files (with --column).")
    var corpus: [String]

    @Option(help: "The CSV column holding the reports.") var column: String?
    @Option(help: "Vocabulary size, special tokens included.") var size = 8192
    @Option(help: "Where to write vocab.txt.") var out: String
    @Flag(help: "Keep case and accents (cased models).") var cased = false

    func run() throws {
        var texts: [String] = []
        for path in corpus {
            if path.lowercased().hasSuffix(".csv") {
                guard let column else { throw ValidationFailure("\(path): a CSV corpus needs --column NAME") }
                let table = try CSVTable(path: path)
                let c = try table.column(column)
                texts += table.rows.map { $0[c] }
            } else {
                let text: String
                do {
                    text = try TextFile.read(path, limit: 1 << 30, what: "the corpus as UTF-8 text")
                } catch {
                    throw ValidationFailure("\(error)")
                }
                texts += text.split(separator: "\n").map(String.init)
            }
        }
        let vocab = VocabularyBuilder.build(corpus: texts, size: size, lowercase: !cased)
        try VocabularyBuilder.write(vocab, to: out)
        print("wrote \(vocab.count) tokens from \(texts.count) reports to \(out)")
    }
}
