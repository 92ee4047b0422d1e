// The assignment problem (what scipy's linear_sum_assignment solves): the one-to-one matching of the rows
// of an n×m cost matrix (n ≤ m) to distinct columns with the least total cost, by the Hungarian method
// with potentials (Kuhn–Munkres, shortest augmenting paths, O(n²m)). PRIOR matches its generated
// sentences to a report's prototypes with it. Not for: the costs themselves (PRIORMethod).

public enum Hungarian {
    /// For each row, its column in a minimum-cost assignment. `cost` is row-major (rows × columns),
    /// rows ≤ columns, every entry finite. Ties are broken deterministically (the same input gives the
    /// same assignment), not necessarily as scipy breaks them; the total cost is the minimum either way.
    public static func assign(cost: [Double], rows n: Int, columns m: Int) -> [Int] {
        precondition(n >= 0 && n <= m && cost.count == n * m, "Hungarian: \(cost.count) costs for \(n) x \(m) (rows must not exceed columns)")
        precondition(cost.allSatisfy(\.isFinite), "Hungarian: costs must be finite")
        guard n > 0 else { return [] }
        // 1-based arrays; column 0 is the virtual start of each augmenting path.
        var u = [Double](repeating: 0, count: n + 1), v = [Double](repeating: 0, count: m + 1)
        var owner = [Int](repeating: 0, count: m + 1)  // owner[j]: the row assigned to column j (0: none)
        var way = [Int](repeating: 0, count: m + 1)
        for i in 1...n {
            owner[0] = i
            var j0 = 0
            var minv = [Double](repeating: .infinity, count: m + 1)
            var used = [Bool](repeating: false, count: m + 1)
            repeat {
                used[j0] = true
                let i0 = owner[j0]
                var delta = Double.infinity, j1 = 0
                for j in 1...m where !used[j] {
                    let reduced = cost[(i0 - 1) * m + (j - 1)] - u[i0] - v[j]
                    if reduced < minv[j] {
                        minv[j] = reduced
                        way[j] = j0
                    }
                    if minv[j] < delta {
                        delta = minv[j]
                        j1 = j
                    }
                }
                for j in 0...m {
                    if used[j] {
                        u[owner[j]] += delta
                        v[j] -= delta
                    } else {
                        minv[j] -= delta
                    }
                }
                j0 = j1
            } while owner[j0] != 0
            // Flip the augmenting path back to its start.
            repeat {
                let j1 = way[j0]
                owner[j0] = owner[j1]
                j0 = j1
            } while j0 != 0
        }
        var columnOf = [Int](repeating: -1, count: n)
        for j in 1...m where owner[j] != 0 { columnOf[owner[j] - 1] = j - 1 }
        return columnOf
    }

    /// The inverse of a square assignment: for each column, its row. PRIOR aligns the generated rows to the
    /// targets' order with it — target j is compared with row `rowOf[j]` (the official code indexes by the
    /// assignment itself, which is right only when the permutation is its own inverse: pitfall R2).
    public static func inverse(_ columnOf: [Int]) -> [Int] {
        var rowOf = [Int](repeating: -1, count: columnOf.count)
        for (row, column) in columnOf.enumerated() where column >= 0 && column < rowOf.count { rowOf[column] = row }
        return rowOf
    }
}
