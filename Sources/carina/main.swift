// The entry point: hands the command line to the `carina` root command. Not for: any logic.
// A sync root keeps MPI on the main thread; subcommands live one per file beside this one.

Carina.main()
