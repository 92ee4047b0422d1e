// Bad calls raise errors that name the op and the shapes involved, never crash.
import Testing
@testable import CarinaTensor

@Suite struct ErrorMessageTests {
    func message(_ body: () throws -> Tensor) -> String {
        do {
            _ = try body()
            return "no error"
        } catch {
            return String(describing: error)
        }
    }

    @Test func matmulNamesBothShapes() {
        let m = message { try Tensor.zeros([2, 3]).matmul(.zeros([4, 5])) }
        #expect(m.contains("matmul") && m.contains("(2, 3)") && m.contains("(4, 5)"), "\(m)")
    }

    @Test func broadcastingNamesOpAndShapes() {
        let m = message { try Tensor.zeros([2, 3]) + Tensor.zeros([4]) }
        #expect(m.contains("add") && m.contains("(2, 3)") && m.contains("(4)"), "\(m)")
    }

    @Test func wrongRankSaysWhatWasExpected() {
        let m = message { try Tensor.zeros([3]).conv2d(weight: .zeros([1, 1, 1, 1]), bias: nil) }
        #expect(m.contains("conv2d") && m.contains("(3)"), "\(m)")
        let ce = message { try Tensor.zeros([2, 3, 4]).crossEntropy(targets: [0, 1]) }
        #expect(ce.contains("cross_entropy") && ce.contains("(2, 3, 4)"), "\(ce)")
    }

    @Test func badReshapeAndAxisAreReported() {
        let r = message { try Tensor.zeros([2, 3]).reshaped([4, 2]) }
        #expect(r.contains("reshape") && r.contains("(2, 3)"), "\(r)")
        let a = message { try Tensor.zeros([2, 3]).sum(axis: 2) }
        #expect(a.contains("axis 2"), "\(a)")
        let h = message { try Tensor.attention(q: .zeros([1, 2, 6]), k: .zeros([1, 2, 6]), v: .zeros([1, 2, 6]), heads: 4) }
        #expect(h.contains("attention") && h.contains("6 channels"), "\(h)")
    }

    @Test func outOfRangeIndicesAreErrors() {
        let m = message { try Tensor.zeros([3, 2]).embedding(IndexTensor([0, 3])) }
        #expect(m.contains("embedding") && m.contains("3"), "\(m)")
        let g = message { try Tensor.zeros([3, 2]).indexSelect(axis: 0, [5]) }
        #expect(g.contains("index"), "\(g)")
    }
}
