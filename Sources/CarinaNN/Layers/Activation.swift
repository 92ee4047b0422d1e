// The pointwise nonlinearities a layer can be configured with (transformer MLPs, heads).

public enum Activation: String, Sendable, Codable, CaseIterable {
    /// Exact GELU (PyTorch nn.GELU, open_clip, BERT).
    case gelu
    /// x·sigmoid(1.702x) (OpenAI CLIP).
    case quickGELU = "quick_gelu"
    case relu
    case tanh

    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .gelu: x.gelu()
        case .quickGELU: x.quickGELU()
        case .relu: x.relu()
        case .tanh: x.tanh()
        }
    }
}
