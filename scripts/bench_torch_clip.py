#!/usr/bin/env python3
# CLIP-tiny in PyTorch, written from docs/models.md (CLIP section) and configs/clip-tiny.yaml, for speed
# comparisons only (launch/bench-vs-torch.sh): the same architecture (ViT 128 px / patch 16 / width 192 / 6
# pre-norm blocks / 3 heads / exact GELU / final LayerNorm, read at the class token; a pre-norm report encoder of
# width 192, 4 blocks, 3 heads, 64 positions, key padding, read at [CLS]; bias-free projections to 128; a learnable
# logit scale; symmetric InfoNCE over the global batch), the same optimizer (AdamW lr 5e-4, betas 0.9/0.98, eps 1e-6,
# weight decay 0.1 on matrices, gradient clipping at 1.0) and the same batch (64 in all, split over the ranks).
# Inputs are random tensors of the right shapes (speed does not depend on the values). Eager mode, as the
# issue's comparison. Prints one line: samples/s (median step), peak RSS.
#
#     python scripts/bench_torch_clip.py --threads 2                    # one process
#     python scripts/bench_torch_clip.py --model vit-b16 --batch 32 --steps 2 [--recompute]   # configs/clip-vit-b16-mimic.yaml's
#         sizes (ViT-B/16 at 224 px, 12-block 768-wide report encoder, 128 tokens, 30522 words, embedding 512);
#         --recompute checkpoints every block (torch.utils.checkpoint), as Carina's train.recomputeActivations
#     torchrun --nproc-per-node 2 scripts/bench_torch_clip.py --threads 1   # DDP over gloo, 2 ranks
import argparse
import os
import resource
import statistics
import time

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    recompute = False  # --recompute: torch.utils.checkpoint around every block

    def __init__(self, width, heads):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width, eps=1e-5), nn.LayerNorm(width, eps=1e-5)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.fc1, self.fc2 = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)
        self.heads = heads

    def forward(self, x, key_padding=None):
        b, t, c = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        mask = None if key_padding is None else (key_padding[:, None, None, :] > 0)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = x + self.proj(a.transpose(1, 2).reshape(b, t, c))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class Encoder(nn.Module):
    def __init__(self, width, depth, heads):
        super().__init__()
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(width, eps=1e-5)

    def forward(self, x, key_padding=None):
        for block in self.blocks:
            if Block.recompute and torch.is_grad_enabled():
                import torch.utils.checkpoint as checkpoint
                x = checkpoint.checkpoint(block, x, key_padding, use_reentrant=False)
            else:
                x = block(x, key_padding)
        return self.norm(x)


class CLIPTiny(nn.Module):
    def __init__(self, image=128, patch=16, width=192, vision_depth=6, text_depth=4, heads=3, vocab=8192, context=64, embed=128):
        super().__init__()
        self.image, self.vocab, self.context = image, vocab, context
        n = (image // patch) ** 2
        self.patch = patch
        self.patch_embed = nn.Linear(patch * patch, width)
        self.class_token = nn.Parameter(torch.randn(width) * 0.02)
        self.vision_positions = nn.Parameter(torch.randn(1 + n, width) * 0.02)
        self.visual = Encoder(width, vision_depth, heads)
        self.token_embedding = nn.Embedding(vocab, width)
        self.text_positions = nn.Parameter(torch.randn(context, width) * 0.01)
        self.text = Encoder(width, text_depth, heads)
        self.image_projection = nn.Linear(width, embed, bias=False)
        self.text_projection = nn.Linear(width, embed, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(1 / 0.07).log())

    def forward(self, images, ids, padding):
        b, p = images.shape[0], self.patch
        patches = images.unfold(2, p, p).unfold(3, p, p).reshape(b, -1, p * p)  # (B, N, p*p), raster order
        x = self.patch_embed(patches) + self.vision_positions[1:]
        x = torch.cat([(self.class_token + self.vision_positions[0]).expand(b, 1, -1), x], dim=1)
        image = F.normalize(self.image_projection(self.visual(x)[:, 0]), dim=-1)
        t = self.token_embedding(ids) + self.text_positions[: ids.shape[1]]
        text = F.normalize(self.text_projection(self.text(t, padding)[:, 0]), dim=-1)
        return image, text


def gather(x):
    """Every rank's rows, with gradient (the all-gather Carina's InfoNCE uses)."""
    if not dist.is_initialized():
        return x
    import torch.distributed.nn.functional as dnn
    return torch.cat(dnn.all_gather(x), dim=0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64, help="global batch")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--model", choices=["tiny", "vit-b16"], default="tiny")
    parser.add_argument("--recompute", action="store_true", help="recompute every block's activations in backward")
    args = parser.parse_args()
    Block.recompute = args.recompute
    torch.set_num_threads(args.threads)
    world, rank = 1, 0
    if "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1:
        dist.init_process_group("gloo")
        world, rank = dist.get_world_size(), dist.get_rank()
    torch.manual_seed(rank)
    model = CLIPTiny() if args.model == "tiny" else CLIPTiny(image=224, patch=16, width=768, vision_depth=12, text_depth=12,
                                                            heads=12, vocab=30522, context=128, embed=512)
    size, vocab, context = model.image, model.vocab, model.context
    if world > 1:
        model = nn.parallel.DistributedDataParallel(model)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                                  lr=5e-4, betas=(0.9, 0.98), eps=1e-6)
    b = args.batch // world
    images = torch.randn(b, 1, size, size)
    ids = torch.randint(5, vocab, (b, context))
    lengths = torch.randint(16, context + 1, (b,))
    padding = (torch.arange(context)[None, :] < lengths[:, None]).float()
    clip = model.module if world > 1 else model
    times = []
    for step in range(args.steps + 2):
        start = time.perf_counter()
        image, text = model(images, ids, padding)
        all_image, all_text = gather(image), gather(text)
        scale = clip.logit_scale.exp()
        targets = torch.arange(b) + rank * b
        loss = (F.cross_entropy(scale * image @ all_text.t(), targets) + F.cross_entropy(scale * text @ all_image.t(), targets)) / 2
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        with torch.no_grad():
            clip.logit_scale.clamp_(0, 4.6052)
        if step >= 2:  # two warm-up steps
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    if world > 1:
        t = torch.tensor([median])
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        median = float(t)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB (Linux reports KiB)
    peak = torch.tensor([rss])
    if world > 1:
        dist.all_reduce(peak, op=dist.ReduceOp.MAX)
    if rank == 0:
        print("torch %s, %s%s: %d rank(s) x %d thread(s), global batch %d: %.1f samples/s (median step %.0f ms), peak RSS per rank %.0f MiB"
              % (torch.__version__, args.model, " recomputed" if args.recompute else "", world, args.threads, args.batch,
                 args.batch / median, median * 1000, float(peak)))
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
