// `carina selftest` (hidden, for developers and CI): the group of checks that run on this machine, on
// every rank. Not for: the checks themselves, one file per subcommand; plain `selftest` runs `link`.

import ArgumentParser

struct SelfTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest",
        abstract: "Checks that run on every rank of this machine or job (for developers and CI).",
        shouldDisplay: false,
        subcommands: [SelfTestLinkCommand.self, SelfTestDDPCommand.self, SelfTestCheckpointWriterCommand.self],
        defaultSubcommand: SelfTestLinkCommand.self
    )
}
