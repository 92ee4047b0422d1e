// The method-independent part of a run's YAML config: data, optimisation, checkpoints, logging and
// evaluation. Every key is documented here; the method's own `model:` section is decoded by the method.
// Keys are camelCase, as the YAML files in configs/ spell them.
import CarinaData
import CarinaEval

public struct RunConfig: Codable, Sendable, Equatable {
    /// Which method trains: a name from MethodRegistry (`carina train --help` lists them).
    public var method = "clip"
    /// Seeds model initialisation, data order, augmentation and masking.
    public var seed: UInt64 = 1
    public var data = DataConfig()
    public var train = TrainConfig()
    public var eval = EvalConfig()

    public init() {}
}

public struct DataConfig: Codable, Sendable, Equatable {
    /// A shard directory written by `carina prepare` or `carina synth`, or "synthetic" for phantoms
    /// generated on the fly (`syntheticCount` of them).
    public var train = "synthetic"
    public var syntheticCount = 4096
    /// Split names in the dataset manifest used for training and for evaluation.
    public var trainSplit = "train"
    public var evalSplit = "valid"
    /// What an epoch visits once: "image" (every training image) or "study" (one image per study, drawn
    /// uniformly by (seed, epoch, study) — PRIOR's MIMIC-CXR pre-processing; studies by the samples'
    /// `study_id` metadata, which `carina prepare` writes for MIMIC-CXR; a sample without one is its own).
    public var samplePer = "image"
    /// Label efficiency: train on this fraction of the training split, in (0, 1]: round(fraction x N)
    /// samples (at least 1) drawn with the run's seed — the same on any world size — kept in the split's
    /// order. The vocabulary and the linear probe's training samples come from the kept ones too.
    public var trainFraction: Float = 1
    /// Findings held out of training entirely, to measure generalisation to unseen classes: training
    /// batches have no label column for them (the method is built with the other, "seen" classes, listed
    /// in the run's classes.txt; the held-out ones in heldout.txt). Evaluation still scores every class
    /// of the evaluation split and adds seen-only and unseen-only sections (`classifier_unseen`, ...).
    public var holdOutClasses: [String] = []
    /// Square input size in pixels (images are resized; augmentation crops back to it).
    public var imageSize = 128
    /// Report tokens per sample, [CLS] and [SEP] included.
    public var contextLength = 64
    /// A BERT-format vocab.txt; "" builds one from the training reports (`vocabularySize` entries) and
    /// saves it in the run directory.
    public var vocabulary = ""
    public var vocabularySize = 8192
    /// Train-time augmentation: random resized crop (scale from cropScaleMin to 1), rotation (degrees),
    /// translation (fraction of the size), brightness and contrast jitter (fractions).
    public var augment = true
    public var cropScaleMin: Float = 0.8
    public var rotationDegrees: Float = 5
    public var translate: Float = 0.05
    public var brightness: Float = 0.1
    public var contrast: Float = 0.1
    /// Train-time text augmentation: "none" (the whole report), "sentence" (one random sentence of
    /// FINDINGS + IMPRESSION per step, as ConVIRT), or "subset" (each sentence kept with probability
    /// `sentenceKeep`, at least one). Evaluation always reads whole reports.
    public var textAugment = "none"
    public var sentenceKeep: Float = 0.5
    /// Mirror training images left-right with this probability (0 = never).
    public var horizontalFlip: Float = 0
    /// 0: every augmentation above in a fixed order; k > 0: k of {crop, rotation, translation,
    /// brightness/contrast} drawn without replacement per sample and applied in random order (PsPG: 2).
    public var augmentChoose = 0
    /// Pixel normalisation after scaling to [0, 1].
    public var mean: Float = 0.5
    public var std: Float = 0.25
    /// Loader threads and batches decoded ahead.
    public var workers = 2
    public var prefetch = 4
    /// Skip (and count) samples that fail to load instead of stopping.
    public var skipBadSamples = false
    /// Images whose PNG header says more pixels (width x height) are refused before they are decoded
    /// (a crafted shard cannot make the loader allocate gigabytes): 67108864 = 64 Mpx, 8192 x 8192.
    public var maxImagePixels = Image.defaultMaxPixels

    public init() {}
}

public struct TrainConfig: Codable, Sendable, Equatable {
    /// Samples per optimizer step over all ranks (each rank takes globalBatch / ranks).
    public var globalBatch = 64
    /// Optimizer steps in total, or `epochs` passes over the training split when that is above 0
    /// (ignored when `stages` are listed: their lengths make the run).
    public var steps = 1000
    public var epochs: Float = 0
    /// adamw or sgd.
    public var optimizer = "adamw"
    public var learningRate: Float = 5e-4
    public var weightDecay: Float = 0.1
    public var beta1: Float = 0.9
    public var beta2: Float = 0.98
    public var eps: Float = 1e-6
    /// SGD momentum, dampening and Nesterov momentum.
    public var momentum: Float = 0.9
    public var dampening: Float = 0
    public var nesterov = false
    /// Learning-rate schedule: linear warm-up from warmupStartLearningRate over warmupSteps (or
    /// warmupEpochs, when above 0), then "cosine" or "linear" decay to minLearningRate, or "constant".
    public var schedule = "cosine"
    public var warmupSteps = 100
    public var warmupEpochs: Float = 0
    public var warmupStartLearningRate: Float = 0
    public var minLearningRate: Float = 0
    /// Clip gradients to this global L2 norm; 0 turns clipping off.
    public var clipGradNorm: Float = 1
    /// A non-finite loss or gradient: "stop" (with a message naming the step) or "skip" the batch.
    public var nonFinite = "stop"
    /// BatchNorm under data parallelism: "sync" (statistics over the global batch, as SyncBatchNorm: N ranks
    /// train like one process) or "broadcast" (each rank's own batch statistics, rank 0's running
    /// statistics copied to every rank before each step, as PyTorch DDP's broadcast_buffers).
    public var batchNorm = "sync"
    /// Training stages, in order (empty: one stage named "train" with the settings above). Each stage
    /// takes every key of this section's optimizer and schedule as its default.
    public var stages: [StageConfig] = []
    /// Progress line every logEvery steps (rank 0).
    public var logEvery = 10
    /// Checkpoint every checkpointEvery steps (and at the end, and on SIGTERM/SIGUSR1); 0 = only then.
    public var checkpointEvery = 200
    /// Keep the newest keepCheckpoints checkpoints, plus every keepEvery-th step (0 = none), plus `best`.
    public var keepCheckpoints = 3
    public var keepEvery = 0
    /// Gradient bucket size for the all-reduce, MB.
    public var bucketMB = 25
    /// Activation recomputation ("gradient checkpointing"): every transformer block keeps only its input
    /// and output between forward and backward and recomputes its inside during backward. Identical
    /// losses and gradients; less memory for about one more forward pass of compute per step (measured in
    /// README, Speed). PRIOR's own blocks and ResNet towers are not recomputed.
    public var recomputeActivations = false
    /// Seconds any one collective (all-reduce, barrier, ...) may wait for the other ranks before the job
    /// ends with a message naming the ranks that did not arrive (a rank stopped, hung or dead without MPI
    /// noticing), in 1...604800. It must exceed the longest time one rank works while the others wait:
    /// rank 0 writing a checkpoint or the vocabulary, an evaluation.
    public var collectiveTimeout: Double = 600
    /// A checkpoint that cannot be written (a full disk, an I/O error): "stop" ends the run with the error
    /// (the default); "continue" logs a warning and trains on, trying again at the next checkpoint. The
    /// last checkpoint of a run and the one on a stop signal are never skipped: their failure ends the run.
    public var onCheckpointError = "stop"

    public init() {}
}

/// One training stage (PRIOR trains in three): its length, what it freezes, and its optimizer and
/// schedule (a new optimizer starts with every stage, as PRIOR's code does). Keys left out take the
/// `train:` section's values.
public struct StageConfig: Codable, Sendable, Equatable {
    /// The name the method knows the stage by.
    public var name = "train"
    /// Length in optimizer steps, or in epochs of the training split when `epochs` is above 0.
    public var steps = 0
    public var epochs: Float = 0
    /// Module paths (`visual`, `text.encoder.blocks.0`) frozen during this stage, on top of what the
    /// method freezes: no gradient, evaluation mode.
    public var freeze: [String] = []
    public var optimizer = "adamw"
    public var learningRate: Float = 5e-4
    public var weightDecay: Float = 0.1
    public var beta1: Float = 0.9
    public var beta2: Float = 0.98
    public var eps: Float = 1e-6
    public var momentum: Float = 0.9
    public var dampening: Float = 0
    public var nesterov = false
    public var schedule = "cosine"
    public var warmupSteps = 100
    public var warmupEpochs: Float = 0
    public var warmupStartLearningRate: Float = 0
    public var minLearningRate: Float = 0

    public init() {}

    /// The stage `train:` alone describes: its length and every optimizer and schedule key.
    public init(_ train: TrainConfig, name: String = "train") {
        self.name = name
        steps = train.steps
        epochs = train.epochs
        optimizer = train.optimizer
        learningRate = train.learningRate
        weightDecay = train.weightDecay
        (beta1, beta2, eps) = (train.beta1, train.beta2, train.eps)
        (momentum, dampening, nesterov) = (train.momentum, train.dampening, train.nesterov)
        schedule = train.schedule
        (warmupSteps, warmupEpochs, warmupStartLearningRate) = (train.warmupSteps, train.warmupEpochs, train.warmupStartLearningRate)
        minLearningRate = train.minLearningRate
    }
}

public struct EvalConfig: Codable, Sendable, Equatable {
    /// Also evaluate every `every` steps during training (0 = only at the end); each such evaluation is
    /// logged (metrics.jsonl, kind "eval") and written with a checkpoint of that step.
    public var every = 0
    /// A metric of the evaluation (e.g. "zero_shot/macro_auc", "classifier/macro_auc",
    /// "probe_100pct/macro_auc") that keeps a `best` checkpoint pointer beside `latest`; "" = none.
    public var select = ""
    /// Whether a higher ("max") or lower ("min") value of `select` is better.
    public var selectMode = "max"
    /// Samples of the evaluation split to use (0 = all).
    public var maxSamples = 0
    /// Rows of a global evaluation batch (the same batches on any world size).
    public var batch = 64
    /// What to compute, for a method that can (EvaluationCapabilities): zero-shot by prompts, linear
    /// probe on image features, retrieval, and the method's own (image, class) scores.
    public var zeroShot = true
    public var linearProbe = true
    public var retrieval = true
    public var classifier = true
    /// The method's own training objectives on the evaluation split (M3AE: MLM accuracy, MIM loss, ITM
    /// accuracy and its selection score `objectives/score`).
    public var objectives = true
    /// The zero-shot prompt pair, "{}" standing for the finding (lower-cased). PsPG's fixed-prompt
    /// baseline is "Findings suggesting {}." / "No evidence of {}.".
    public var zeroShotPositive = ZeroShot.defaultTemplates.positive
    public var zeroShotNegative = ZeroShot.defaultTemplates.negative
    /// Also evaluate the untrained model (the same starting weights) for comparison: what training adds.
    public var compareUntrained = true
    /// Fractions of the labelled training features the linear probe trains on, the probe's inverse
    /// regularisation (scikit-learn's LogisticRegression C) and how many training samples it reads.
    public var probeFractions: [Float] = [0.01, 0.1, 1]
    public var probeC: Float = 1
    public var probeTrainingSamples = 5000
    /// Bootstrap resamples for 95 % confidence intervals of AUC and mAP (0 = none).
    public var bootstrap = 1000
    /// Samples (images and their reports) scored against each other by a pair-scoring method (M3AE's
    /// matching head): N² fused passes.
    public var pairRetrievalSamples = 100
    /// A balanced single-label evaluation as PRIOR's CheXpert 5x200: the evaluation samples with exactly
    /// one of these findings present (all of them known), the first `singleLabelPerClass` of each (fewer
    /// when a finding has fewer: every finding gets the same count), scored over these findings alone —
    /// zero-shot and the method's classifier, with accuracy, macro F1 and Cohen's kappa of the argmax
    /// (sections `balanced_zero_shot`, `balanced_classifier`). Empty: none.
    public var singleLabelClasses: [String] = []
    public var singleLabelPerClass = 200
    /// With the synthetic phantoms: draw that balanced set from this many further phantoms (the ones after
    /// `data.syntheticCount`, from the next whole patient on: never trained on) instead of the evaluation
    /// split, whose few samples with a single one of the findings (7 of 444 for atelectasis) make the
    /// accuracy too coarse to read. 0: the evaluation split.
    public var singleLabelSyntheticCount = 0

    public init() {}
}

extension DataConfig {
    /// The image transform of this data section: training augmentation as configured, or only resizing
    /// and normalisation (evaluation).
    public func transform(train: Bool) -> ImageTransform {
        var t = ImageTransform(size: imageSize, train: train && augment)
        (t.cropScaleMin, t.rotationDegrees, t.translate, t.brightness, t.contrast, t.mean, t.std) =
            (cropScaleMin, rotationDegrees, translate, brightness, contrast, mean, std)
        (t.horizontalFlip, t.choose) = (horizontalFlip, augmentChoose)
        return t
    }
}
