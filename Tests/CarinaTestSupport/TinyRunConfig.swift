// The smallest CLIP run config the end-to-end tests train (a 32 px ViT and a one-layer report encoder on
// 120 phantoms), with the knobs the tests vary.

/// YAML for a tiny CLIP run: `steps` steps of 8, a checkpoint every `checkpointEvery`, and `eval` as the
/// evaluation section's body (indented keys).
public func tinyCLIPRunConfig(steps: Int, checkpointEvery: Int, eval: String) -> String {
    """
    method: clip
    seed: 3
    model:
      patchSize: 8
      visionWidth: 16
      visionDepth: 1
      visionHeads: 2
      textWidth: 16
      textDepth: 1
      textHeads: 2
      embedDim: 8
    data:
      syntheticCount: 120
      imageSize: 32
      contextLength: 16
      vocabularySize: 200
      textAugment: subset
      workers: 2
      prefetch: 2
    train:
      globalBatch: 8
      steps: \(steps)
      warmupSteps: 2
      learningRate: 2.0e-3
      checkpointEvery: \(checkpointEvery)
      logEvery: 100
    eval:
    \(eval)
    """
}
