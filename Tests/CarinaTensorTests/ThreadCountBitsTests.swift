// An op's output and gradients must not depend on how many threads compute them: CARINA_THREADS follows the
// machine's cores (launch/mpirun.sh gives each rank cores / ranks), so otherwise a run's digits would change
// with the machine's size. LayerNorm's weight and bias gradients and a convolution's weight gradient were
// summed per thread (CARINA_THREADS=1 and =2 trained different bits); attention, softmax, GELU and the
// GEMMs split work without splitting a sum. Each case: Parallel.threads 1, 2 and 3, bit for bit.
import Testing
import CarinaTensor
import CarinaTestSupport

@Suite(.serialized) struct ThreadCountBitsTests {
    /// The output and every input's gradient (valuesAndGradients) with `threads` threads.
    func outputsAndGradients(threads: Int, _ inputs: [Tensor], _ f: ([Tensor]) throws -> Tensor) throws -> [[Float]] {
        let saved = Parallel.threads
        Parallel.threads = threads
        defer { Parallel.threads = saved }
        let (output, gradients) = try valuesAndGradients(inputs, f)
        return [output] + gradients
    }

    func expectSameBits(_ inputs: [Tensor], _ name: String, _ f: ([Tensor]) throws -> Tensor) throws {
        let one = try outputsAndGradients(threads: 1, inputs, f)
        for threads in [2, 3] {
            let many = try outputsAndGradients(threads: threads, inputs, f)
            for (index, (a, b)) in zip(one, many).enumerated() {
                let differing = zip(a, b).filter { $0.0.bitPattern != $0.1.bitPattern }.count
                #expect(differing == 0, "\(name), \(threads) threads: \(index == 0 ? "output" : "gradient of input \(index - 1)") has \(differing) of \(a.count) values other than with one thread")
            }
        }
    }

    @Test(arguments: [[8, 17, 48], [3, 200, 64]]) func layerNorm(_ shape: [Int]) throws {
        let c = shape.last!
        try expectSameBits([randomTensor(shape, -2, 2), randomTensor([c], 0.5, 1.5, stream: 2), randomTensor([c], stream: 3)],
                           "layer_norm \(shape)") { try $0[0].layerNorm(weight: $0[1], bias: $0[2]) }
    }

    /// A ViT's patch embedding (8×8 kernel, stride 8), 3×3 convolutions with padding (im2col) and 1×1 ones (read
    /// in place), each with a bias. The weight gradient's columns (channel, ki, kj) are split over the threads
    /// (45 columns in 22 + 23 on 2 threads, 13 in 4 + 4 + 5 on 3; 5 stay whole); the 64-pixel case is large enough
    /// that the bias gradient's channels are split too.
    @Test(arguments: [(3, 8, 8, 0, 16), (4, 3, 1, 1, 16), (5, 3, 2, 1, 16), (5, 1, 1, 0, 16), (13, 1, 1, 0, 16), (2, 3, 1, 1, 64)])
    func conv2d(_ channels: Int, _ kernel: Int, _ stride: Int, _ padding: Int, _ size: Int) throws {
        let (n, out) = (7, 6)
        try expectSameBits([randomTensor([n, channels, size, size], -1, 1), randomTensor([out, channels, kernel, kernel], -0.5, 0.5, stream: 4),
                            randomTensor([out], stream: 5)], "conv2d \(channels) channels \(kernel)x\(kernel)/\(stride) at \(size) px") {
            try $0[0].conv2d(weight: $0[1], bias: $0[2], stride: stride, padding: padding)
        }
    }

    /// Max and average pooling and nearest upsampling split their (sample, channel) planes over the threads:
    /// 128 planes of 64×64, enough that 2 and 3 threads split them (3 unevenly: 42, 43, 43 planes).
    @Test func poolingAndUpsampling() throws {
        let x = randomTensor([4, 32, 64, 64], -1, 1)
        try expectSameBits([x], "max_pool2d 3/2 pad 1") { try $0[0].maxPool2d(kernel: 3, stride: 2, padding: 1) }
        try expectSameBits([x], "avg_pool2d 3/2 pad 1") { try $0[0].avgPool2d(kernel: 3, stride: 2, padding: 1) }
        try expectSameBits([x], "upsample_nearest2d x2") { try $0[0].upsampleNearest2d(factor: 2) }
    }

    /// BatchNorm in training: its per-channel statistics and gradient sums are split over the threads by channel
    /// (6 channels of 5 × 4096 values: 2 and 3 threads split them).
    @Test func batchNorm() throws {
        let (runningMean, runningVar) = (Tensor.zeros([6]), Tensor.ones([6]))
        try expectSameBits([randomTensor([5, 6, 64, 64], -1, 3), randomTensor([6], 0.5, 1.5, stream: 9), randomTensor([6], stream: 10)],
                           "batch_norm") {
            try $0[0].batchNorm(weight: $0[1], bias: $0[2], runningMean: runningMean, runningVar: runningVar, training: true)
        }
    }

    @Test func linearWithBias() throws {
        try expectSameBits([randomTensor([600, 96], -1, 1), randomTensor([200, 96], -0.3, 0.3, stream: 6), randomTensor([200], stream: 7)],
                           "linear") { try $0[0].linear(weight: $0[1], bias: $0[2]) }
    }

    /// A residual add large enough (117 195 values: at least 32 768 a share, so 2 and 3 threads do split it) that
    /// its backward's copies of the gradient into both operands are split across the threads, in uneven parts.
    @Test func residualAdd() throws {
        try expectSameBits([randomTensor([3, 65, 601], -1, 1), randomTensor([3, 65, 601], -1, 1, stream: 8)], "add") { try $0[0] + $0[1] }
    }

    /// Dropout masks are drawn row by row (each sample its own generator), the rows split over the threads: 5
    /// samples of 9 000 values (2 and 3 threads split them), and attention's probability dropout (B, H, Tq, Tk).
    @Test func dropoutMasks() throws {
        let key = RandomKey(seed: 11, stream: 3, firstRow: 2)
        try expectSameBits([randomTensor([9, 9000], -1, 1)], "dropout") { try $0[0].dropout(0.3, training: true, key: key) }
        try expectSameBits([randomTensor([7, 65, 3 * 48], -1, 1)], "self_attention with dropout") {
            try Tensor.selfAttention(qkv: $0[0], heads: 3, dropout: AttentionDropout(probability: 0.1, key: key))
        }
    }

    @Test func attentionAndSoftmaxAndGELU() throws {
        try expectSameBits([randomTensor([6, 9, 3 * 16], -1, 1)], "self_attention") { try Tensor.selfAttention(qkv: $0[0], heads: 2) }
        // 3 samples × 3 heads: with 2 and 3 threads a thread's share starts or ends inside a sample (what it
        // reads and prefetches ahead follows the share), with 65 tokens the rows of a ViT-Tiny at 128 px.
        try expectSameBits([randomTensor([3, 65, 3 * 24], -1, 1)], "self_attention 3x3") { try Tensor.selfAttention(qkv: $0[0], heads: 3) }
        try expectSameBits([randomTensor([40, 33], -4, 4)], "softmax") { try $0[0].softmax() }
        try expectSameBits([randomTensor([40, 300], -4, 4)], "gelu") { $0[0].gelu() }
    }
}
