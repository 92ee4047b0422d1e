// The `model:` section of the prompt-learning methods on a frozen CLIP — PsPG and the baselines it is
// compared with (CoOp, DualCoOp) — with PsPG's constants as defaults. Field names are the YAML keys of
// configs/pspg-*.yaml, configs/coop-*.yaml and configs/dualcoop-*.yaml.

public struct PromptLearningConfig: Sendable, Codable, Equatable {
    /// The CLIP run (a run directory or a checkpoint file) whose towers are the frozen backbone: its
    /// sizes, weights, logit scale and vocabulary are used. "" builds a randomly initialised backbone of
    /// `clip`'s sizes (the tests' equivalence check only: random towers know no findings).
    public var clipFrom = ""
    /// The backbone's sizes; with `clipFrom` they are the CLIP run's and may be omitted.
    public var clip = CLIPConfig()
    /// Prompt vectors per prompt (PsPG's 16; CoOp's context length).
    public var promptLength = 16
    /// PsPG's decoders: hidden size, attention heads, dropout on the written vectors.
    public var decoderHidden = 512
    public var decoderHeads = 8
    public var dropout: Float = 0.2
    /// PsPG only: follow the generated vectors with the class name's word pieces, [CLS] P_c name [SEP], as
    /// the official code's ENABLE_PREFIX option (there with "classname ."; off in its released config).
    /// Off: [CLS] P_c [SEP], the class entering only through the decoders' first input.
    public var nameInPrompt = false
    /// Score with Spatial Fusion over the global and dense image tokens (true) or the global feature only.
    public var spatialFusion = true
    /// ranking: 0.1 ASL + 0.07 ranking (the official default); pair: ASL + the official binarised pair
    /// co-occurrence loss; softPair: ASL + the soft co-occurrence targets the paper describes; asl: ASL
    /// alone (the official CoOp/DualCoOp training).
    public var loss = "ranking"
    public var aslWeight: Float = 0.1
    public var rankWeight: Float = 0.07
    public var pairWeight: Float = 1
    /// Asymmetric loss: focusing exponents for positives and negatives, probability shift of negatives.
    public var gammaPositive: Float = 1
    public var gammaNegative: Float = 2
    public var aslClip: Float = 0.05
    /// The logit scale's starting temperature when `clipFrom` is "" (else the CLIP run's scale).
    public var initialTemperature: Float = 0.07

    public init() {}

    /// The losses `loss` may name.
    public static let losses = ["ranking", "pair", "softPair", "asl"]
}
