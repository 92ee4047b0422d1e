// What a run writes for machines and people: metrics as JSON lines (`metrics.jsonl` in the run directory,
// one object per record, appended and flushed) and the same values as TensorBoard scalars (an
// `events.out.tfevents.*` file per process start, TensorBoardEvents.swift), and the progress line rank 0
// prints. Not for: plots (Plot.swift reads the JSON lines back).
import CarinaData
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One record of metrics.jsonl: the step, a kind ("train", "eval", ...) and named values.
public struct MetricsRecord: Codable, Sendable, Equatable {
    public var step: Int
    public var kind: String
    public var values: [String: Double]
    /// Seconds since the run (or the resumed run) started.
    public var time: Double

    public init(step: Int, kind: String, values: [String: Double], time: Double) {
        self.step = step
        self.kind = kind
        self.values = values
        self.time = time
    }
}

public final class MetricsLog {
    public let path: String
    /// This process's TensorBoard event file in the same directory: each record's values as scalars tagged
    /// `kind/name` ("train/loss", "eval/zero_shot/macro_auc") at the record's step.
    public let events: TensorBoardEventWriter
    private let handle: FileHandle
    private let encoder: JSONEncoder

    /// Opens (creating or appending to) `directory/metrics.jsonl`, and creates a new TensorBoard event file
    /// beside it.
    public init(directory: String) throws {
        path = (directory as NSString).appendingPathComponent("metrics.jsonl")
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw ConfigError("cannot create \(path)")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw ConfigError("cannot open \(path) for writing") }
        handle.seekToEndOfFile()
        self.handle = handle
        events = try TensorBoardEventWriter(directory: directory)
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // An undefined metric (AUC of a class without positives) is NaN: written as the string "NaN".
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
    }

    deinit { try? handle.close() }

    /// Appends the record to metrics.jsonl and to the event file, each written at once.
    public func append(_ record: MetricsRecord) throws {
        var data = try encoder.encode(record)
        data.append(0x0A)
        do {
            try handle.write(contentsOf: data)
        } catch {
            throw ConfigError("cannot write \(path): \(error.localizedDescription)")
        }
        try events.write(step: record.step, scalars: record.values.sorted { $0.key < $1.key }.map { (record.kind + "/" + $0.key, Float($0.value)) })
    }

    /// The largest metrics file read (a million-step run logging every step stays far below it).
    public static let maximumBytes = 1 << 30

    /// Every record in a metrics.jsonl file; a malformed line is an error naming the file and line. Only a
    /// regular file of at most `maximumBytes` is read (`carina compare` reads other people's runs).
    public static func read(_ path: String) throws -> [MetricsRecord] {
        let text: String
        do {
            text = try TextFile.read(path, limit: maximumBytes, what: "metrics")
        } catch {
            throw ConfigError("\(error)")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        var out: [MetricsRecord] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            do {
                out.append(try decoder.decode(MetricsRecord.self, from: Data(line.utf8)))
            } catch {
                throw ConfigError("\(path):\(n + 1): not a metrics record: \(error)")
            }
        }
        return out
    }
}

/// The progress line: `step 120/1000  epoch 1  loss 3.412  lr 4.8e-04  182.3 samples/s  ETA 4m48s`.
public enum ProgressLine {
    /// `secondsPerStep` (recent average) gives the ETA.
    public static func format(step: Int, totalSteps: Int, epoch: Int, loss: Double, learningRate: Double,
                              samplesPerSecond: Double, secondsPerStep: Double, extra: [String: Double] = [:]) -> String {
        var parts = [
            "step \(step)/\(totalSteps)", "epoch \(epoch)", String(format: "loss %.4f", loss),
            String(format: "lr %.2e", learningRate), String(format: "%.1f samples/s", samplesPerSecond),
        ]
        for key in extra.keys.sorted() { parts.append("\(key) " + String(format: "%.4g", extra[key]!)) }
        parts.append("ETA " + duration(Double(totalSteps - step) * secondsPerStep))
        return parts.joined(separator: "  ")
    }

    /// "4m48s", "1h02m", "37s".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }
}

/// A one-line progress bar redrawn in place (`\r`), for rank 0 when standard output is a terminal.
public enum ProgressBar {
    /// `[##########..........]  52%  step 312/600  loss 3.412`
    public static func line(step: Int, totalSteps: Int, loss: Double, width: Int = 30) -> String {
        let fraction = totalSteps > 0 ? min(max(Double(step) / Double(totalSteps), 0), 1) : 1
        let filled = Int((fraction * Double(width)).rounded(.down))
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            + String(format: "%3d%%  step %d/%d  loss %.4f", Int(fraction * 100), step, totalSteps, loss)
    }

    /// Whether standard output is a terminal a person watches. Under a launcher (mpirun, srun) a rank's
    /// output goes through the launcher's pseudo-terminal even when the job's output is redirected to a
    /// file, so a bar is never drawn there.
    public static var isTerminal: Bool {
        let env = ProcessInfo.processInfo.environment
        let launched = env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMI_SIZE"] != nil || env["SLURM_PROCID"] != nil
        return isatty(1) == 1 && !launched
    }

    /// Redraws the bar (no newline); `clear` erases it before an ordinary line is printed.
    public static func draw(_ text: String) { FileHandle.standardOutput.write(Data(("\r" + text + "\u{1B}[K").utf8)) }
    public static func clear() { FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8)) }
}
