// Cross-modal retrieval: Recall@K of image->report and report->image from a similarity matrix whose
// matching pairs sit on the diagonal. Not for: computing embeddings (the model does).

public enum Retrieval {
    /// The 0-based rank of each query's true item (row i's item i) among the N candidates of its row of
    /// `similarity` (N, N row-major): the number of candidates scoring strictly higher. Ties with the true
    /// item do not push it down (an optimistic rank; documented, as implementations differ).
    /// Scores within `tieTolerance` · max(1, |true score|) of the true item's count as ties: the same
    /// report (radiology has many identical ones) embeds to Float32 values that differ in their last bits
    /// with the batch it was computed in, and that must not decide the rank.
    public static func ranks(similarity: [Float], n: Int, tieTolerance: Float = 1e-5) -> [Int] {
        precondition(similarity.count == n * n, "Retrieval: \(similarity.count) similarities for \(n) x \(n)")
        return (0..<n).map { i in
            let row = similarity[(i * n)..<((i + 1) * n)]
            let truth = similarity[i * n + i]
            let bar = truth + tieTolerance * Swift.max(1, abs(truth))
            return row.filter { $0 > bar }.count
        }
    }

    /// Fraction of queries whose true item ranks in the top k.
    public static func recall(at k: Int, ranks: [Int]) -> Double {
        ranks.isEmpty ? 0 : Double(ranks.filter { $0 < k }.count) / Double(ranks.count)
    }

    /// Recall@1/5/10 both ways: image->report uses rows of `similarity` (images x reports), report->image
    /// its transpose.
    public static func recallAtK(similarity: [Float], n: Int, ks: [Int] = [1, 5, 10]) -> (imageToReport: [Int: Double], reportToImage: [Int: Double]) {
        var transposed = [Float](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { transposed[j * n + i] = similarity[i * n + j] } }
        let i2t = ranks(similarity: similarity, n: n), t2i = ranks(similarity: transposed, n: n)
        return (Dictionary(uniqueKeysWithValues: ks.map { ($0, recall(at: $0, ranks: i2t)) }),
                Dictionary(uniqueKeysWithValues: ks.map { ($0, recall(at: $0, ranks: t2i)) }))
    }
}
