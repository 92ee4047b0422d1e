// The small multi-label data set the metric, threshold and bootstrap tests share, written out so that
// reference/make_reference.py computes scikit-learn's values on the same arrays. Not for: probe data
// (ProbeReferenceTests holds its own).

enum ReferenceData {
    static let classNames = ["a", "b", "c", "d", "e"]
    /// (12, 5) labels: -1 unknown. Class c's known labels are all 0 (no positive); class e has none known.
    static let labels: [Float] = [
        1, 0, 0, 1, -1,
        0, 1, 0, 0, -1,
        1, 1, -1, 0, -1,
        0, 0, 0, 1, -1,
        -1, 1, 0, 1, -1,
        1, 0, 0, 0, -1,
        0, -1, 0, 0, -1,
        1, 1, 0, -1, -1,
        0, 0, -1, 1, -1,
        0, 1, 0, 0, -1,
        1, 0, 0, 1, -1,
        0, 0, 0, 0, -1,
    ]
    /// (12, 5) scores, tied inside classes (a: 0.5 three times) and across them, some exactly on 0.5.
    static let scores: [Float] = [
        0.9, 0.3, 0.5, 0.7, 0.1,
        0.5, 0.8, 0.2, 0.5, 0.2,
        0.7, 0.8, 0.9, 0.3, 0.3,
        0.5, 0.1, 0.5, 0.9, 0.4,
        0.2, 0.6, 0.1, 0.5, 0.5,
        0.5, 0.3, 0.3, 0.2, 0.6,
        0.3, 0.9, 0.7, 0.5, 0.7,
        0.8, 0.5, 0.6, 0.8, 0.8,
        0.1, 0.4, 0.4, 0.6, 0.9,
        0.3, 0.5, 0.5, 0.1, 0.3,
        0.7, 0.2, 0.6, 0.5, 0.2,
        0.6, 0.5, 0.3, 0.4, 0.1,
    ]

    /// |a − b| ≤ tol, false for nil.
    static func close(_ a: Double?, _ b: Double, _ tol: Double = 1e-12) -> Bool { a.map { abs($0 - b) <= tol } ?? false }

    /// Element-wise close, nil only where the reference is nil.
    static func close(_ a: [Double?], _ b: [Double?], _ tol: Double = 1e-12) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in y.map { close(x, $0, tol) } ?? (x == nil) }
    }
}
