// Metrics JSON lines round-trip, the progress line reads as documented, and the plot draws every series.
import Foundation
import Testing
import CarinaTestSupport
import CarinaTrain

@Suite struct LogAndPlotTests {
    func temporaryDirectory() throws -> String { try makeTemporaryDirectory("log") }

    @Test func metricsAppendAndReadBack() throws {
        let dir = try temporaryDirectory()
        let records = [MetricsRecord(step: 1, kind: "train", values: ["loss": 2.5, "lr": 1e-4], time: 0.5),
                       MetricsRecord(step: 10, kind: "eval", values: ["zero_shot_auc": 0.71], time: 9)]
        do {
            let log = try MetricsLog(directory: dir)
            for r in records { try log.append(r) }
        }
        try MetricsLog(directory: dir).append(MetricsRecord(step: 11, kind: "train", values: ["loss": 2], time: 10))
        #expect(try MetricsLog.read(dir + "/metrics.jsonl") == records + [MetricsRecord(step: 11, kind: "train", values: ["loss": 2], time: 10)])
    }

    @Test func malformedMetricsLineIsNamed() throws {
        let dir = try temporaryDirectory()
        try "{\"step\":1,\"kind\":\"train\",\"values\":{},\"time\":0}\nnot json\n".write(toFile: dir + "/metrics.jsonl", atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.self) { try MetricsLog.read(dir + "/metrics.jsonl") }
        do { _ = try MetricsLog.read(dir + "/metrics.jsonl") } catch { #expect("\(error)".contains("metrics.jsonl:2")) }
    }

    @Test func aMetricsFileThatIsANamedPipeIsAnErrorNotAHang() throws {
        // `carina compare` reads other people's run directories.
        let dir = try makeTemporaryDirectory("metrics-pipe")
        #expect(mkfifo(dir + "/metrics.jsonl", 0o600) == 0)
        let done = DispatchSemaphore(value: 0)
        final class Box: @unchecked Sendable { var message = "" }
        let box = Box()
        Thread {
            do { _ = try MetricsLog.read(dir + "/metrics.jsonl") } catch { box.message = "\(error)" }
            done.signal()
        }.start()
        #expect(done.wait(timeout: .now() + 60) == .success, "reading a named pipe as metrics hung")
        #expect(box.message == "\(dir)/metrics.jsonl: cannot read metrics: not a regular file (a named pipe)")
    }

    @Test func progressLineShowsStepLossRateThroughputAndETA() {
        let line = ProgressLine.format(step: 120, totalSteps: 1000, epoch: 1, loss: 3.41234, learningRate: 4.8e-4,
                                       samplesPerSecond: 182.3, secondsPerStep: 0.3)
        #expect(line == "step 120/1000  epoch 1  loss 3.4123  lr 4.80e-04  182.3 samples/s  ETA 4m24s")
        #expect(ProgressLine.duration(3725) == "1h02m" && ProgressLine.duration(37) == "37s")
    }

    @Test func plotHasAPanelPerQuantity() throws {
        let dir = try temporaryDirectory()
        let log = try MetricsLog(directory: dir)
        for s in 1...5 { try log.append(MetricsRecord(step: s, kind: "train", values: ["loss": 3 - Double(s) * 0.2, "lr": 1e-3], time: 0)) }
        try log.append(MetricsRecord(step: 5, kind: "eval", values: ["zero_shot/macro_auc": 0.8, "retrieval/r@1_i2t": .nan, "zero_shot/auc/Edema": 0.7,
                                                                     "zero_shot/macro_auc_ci_low": 0.6], time: 0))
        let records = try MetricsLog.read(dir + "/metrics.jsonl")
        #expect(Plot.panels(records).map(\.name) == ["train loss", "learning rate", "eval zero_shot/macro_auc"])
        let path = try Plot.write(runDirectory: dir)
        let svg = try String(contentsOfFile: path, encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("train loss") && svg.contains("polyline") && svg.hasSuffix("</svg>\n"))
    }
}

@Suite struct EvaluationTableTests {
    @Test func trainedAndUntrainedSideBySide() {
        typealias M = EvaluationReport.Metric
        func report(_ auc: Double) -> EvaluationReport {
            EvaluationReport(title: "the 'valid' split of shards/x", samples: 40, sections: [
                .init(key: "zero_shot", title: "zero-shot", metrics: [M("macro_auc", "macro AUC", auc, interval: 0.7...0.9)],
                      perClass: [.init(name: "Edema", auc: nil, aucInterval: nil, averagePrecision: 0.25, positives: 0, known: 40)]),
                .init(key: "retrieval", title: "retrieval", metrics: [M("r@1_i2t", "", 0.1), M("r@5_i2t", "", 0.3), M("r@10_i2t", "", 0.5),
                                                                      M("r@1_t2i", "", 0.2), M("r@5_t2i", "", 0.4), M("r@10_t2i", "", 0.6)], perClass: []),
            ], bootstrapResamples: 100)
        }
        let t = EvaluationTable.render(report(0.8123), untrained: report(0.5))
        #expect(t.hasPrefix("evaluation on the 'valid' split of shards/x (40 samples)"), "\(t)")
        #expect(t.contains("zero-shot macro AUC") && t.contains("0.812 [0.700, 0.900]") && t.contains("0.500"), "\(t)")
        #expect(t.contains("0.100 / 0.300 / 0.500") && t.contains("Edema") && t.contains("n/a") && t.contains("0/40"), "\(t)")
        #expect(!t.contains("linear probe"))
    }
}

@Suite struct ProgressBarTests {
    @Test func barFillsWithTheFractionOfSteps() {
        #expect(ProgressBar.line(step: 300, totalSteps: 600, loss: 3.41234, width: 10) == "[#####.....]  50%  step 300/600  loss 3.4123")
        #expect(ProgressBar.line(step: 600, totalSteps: 600, loss: 1, width: 4).hasPrefix("[####] 100%"))
    }
}
