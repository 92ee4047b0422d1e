// What an evaluation computed, in sections (zero-shot, linear probe at each label fraction, the method's
// own classifier, retrieval), each with headline metrics (with bootstrap 95 % intervals where they apply)
// and per-finding rows; flattened to `section/metric` values for metrics.jsonl and checkpoint selection.
// Not for: computing it (MethodEvaluation) or printing it (EvaluationTable).

public struct EvaluationReport: Sendable, Equatable {
    public struct Metric: Sendable, Equatable {
        /// `macro_auc`, `map`, `r@1_i2t`, ...
        public var key: String
        /// How the table names it ("macro AUC").
        public var label: String
        /// nil where undefined (no positive, no negative).
        public var value: Double?
        /// Bootstrap 95 % interval.
        public var interval: ClosedRange<Double>?

        public init(_ key: String, _ label: String, _ value: Double?, interval: ClosedRange<Double>? = nil) {
            self.key = key
            self.label = label
            self.value = value
            self.interval = interval
        }
    }

    public struct ClassRow: Sendable, Equatable {
        public var name: String
        public var auc: Double?
        public var aucInterval: ClosedRange<Double>?
        public var averagePrecision: Double?
        /// Known labels of the class that are positive, and known labels in all.
        public var positives: Int
        public var known: Int

        public init(name: String, auc: Double?, aucInterval: ClosedRange<Double>?, averagePrecision: Double?, positives: Int, known: Int) {
            self.name = name
            self.auc = auc
            self.aucInterval = aucInterval
            self.averagePrecision = averagePrecision
            self.positives = positives
            self.known = known
        }
    }

    public struct Section: Sendable, Equatable {
        /// `zero_shot`, `probe_10pct`, `classifier`, `retrieval`, `pair_retrieval`.
        public var key: String
        public var title: String
        public var metrics: [Metric]
        public var perClass: [ClassRow]

        public init(key: String, title: String, metrics: [Metric], perClass: [ClassRow]) {
            self.key = key
            self.title = title
            self.metrics = metrics
            self.perClass = perClass
        }
    }

    /// What was evaluated: the split and dataset, and the sample count.
    public var title: String
    public var samples: Int
    public var sections: [Section]
    /// Resamples behind the intervals (0 = none).
    public var bootstrapResamples: Int

    public init(title: String, samples: Int, sections: [Section], bootstrapResamples: Int) {
        self.title = title
        self.samples = samples
        self.sections = sections
        self.bootstrapResamples = bootstrapResamples
    }

    /// Every number as `section/metric` (and `section/metric_ci_low`, `_ci_high`), per finding as
    /// `section/auc/NAME`, `section/ap/NAME`; undefined values as NaN.
    public var values: [String: Double] {
        var out: [String: Double] = [:]
        for s in sections {
            for m in s.metrics {
                out["\(s.key)/\(m.key)"] = m.value ?? .nan
                if let ci = m.interval {
                    out["\(s.key)/\(m.key)_ci_low"] = ci.lowerBound
                    out["\(s.key)/\(m.key)_ci_high"] = ci.upperBound
                }
            }
            for row in s.perClass {
                out["\(s.key)/auc/\(row.name)"] = row.auc ?? .nan
                out["\(s.key)/ap/\(row.name)"] = row.averagePrecision ?? .nan
            }
        }
        return out
    }

    public func section(_ key: String) -> Section? { sections.first { $0.key == key } }
}
