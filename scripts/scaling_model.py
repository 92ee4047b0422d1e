#!/usr/bin/env python3
"""The alpha-beta ring all-reduce model of docs/scaling.md: predicted step time and scaling efficiency of
data-parallel Carina at 8, 64 and 512 ranks for clip-vit-b16-mimic and m3ae-paper on 25/100/200 Gbit/s,
with the constants measured on this machine (docs/scaling.md says where each comes from). Prints the
markdown tables and writes docs/scaling.svg. Standard library only.

    python3 scripts/scaling_model.py [--svg docs/scaling.svg]
"""
import argparse
import math

# --- measured (docs/scaling.md, "Measurements") ---------------------------------------------------------
ALPHA = 27e-6            # s per ring step: half a 2-rank 4 KB all-reduce over the namespace links (bench comm)
LINK_EFFICIENCY = 0.92   # bus bandwidth / line rate of a whole-gradient all-reduce where the link limits (1 Gbit/s)
HIDDEN_SHARE = {         # share of backward that hid all-reduce time: measured here (2 ranks on 2 shared cores)
    "measured": 0.4,     # and what a rank with a spare core for MPI progress could reach (assumed)
    "spare core": 0.9,
}
PER_CORE_GFLOPS = 42.0   # Carina's GEMM rate per core in a whole clip-vit-b16 training step (bench train, 1 x 2 threads)
CORES_PER_RANK = 64      # one rank per 64-core node

# --- the models (carina model describe; FLOPs per sample from carina bench train's GEMM count) -----------
MODELS = {
    # name: (parameters, training GEMM GFLOP per sample, samples per rank)
    "clip-vit-b16-mimic": (194_787_073, None, 32),
    "m3ae-paper": (371_739_483, None, 32),
}
BUCKET_MB = 25
LINKS_GBIT = [25, 100, 200]
RANKS = [8, 64, 512]


def allreduce_seconds(n, size_bytes, link_gbit, buckets):
    """Ring all-reduce of size_bytes in `buckets` pieces: each pays 2(n-1) latencies; the bytes cross
    2(n-1)/n times the payload over each link."""
    if n == 1:
        return 0.0
    bandwidth = link_gbit * 1e9 / 8 * LINK_EFFICIENCY
    return 2 * (n - 1) * ALPHA * buckets + 2 * (n - 1) / n * size_bytes / bandwidth


def step_seconds(n, params, gflop_per_sample, local_batch, link_gbit, hidden, bucket_mb=BUCKET_MB):
    size = params * 4
    buckets = max(1, math.ceil(size / (bucket_mb << 20)))
    compute = gflop_per_sample * local_batch / (PER_CORE_GFLOPS * CORES_PER_RANK)
    backward = compute * 2 / 3
    comm = allreduce_seconds(n, size, link_gbit, buckets)
    last_bucket = allreduce_seconds(n, size / buckets, link_gbit, 1)
    exposed = max(comm - hidden * backward, last_bucket if n > 1 else 0.0)
    return compute, comm, compute + exposed


def tables(flops):
    out = []
    for name, (params, _, b) in MODELS.items():
        g = flops[name]
        out.append(f"**{name}**: {params / 1e6:.1f} M parameters ({params * 4 / 2**20:.0f} MB of gradients), "
                   f"{g:.0f} GFLOP per training sample; compute {g / (PER_CORE_GFLOPS * CORES_PER_RANK) * 1e3:.0f} ms per sample "
                   f"on a {CORES_PER_RANK}-core rank\n")
        out.append("| ranks | samples per rank | link | all-reduce ms | step ms (hidden 40 %) | efficiency | step ms (hidden 90 %) | efficiency |")
        out.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
        # Weak scaling at 32 samples per rank, then the recipe's global batch of 256 split over more ranks.
        for n, local in [(8, b), (64, b), (512, b), (64, 256 // 64), (256, 256 // 256)]:
            for link in LINKS_GBIT:
                c, comm, s_meas = step_seconds(n, params, g, local, link, HIDDEN_SHARE["measured"])
                _, _, s_spare = step_seconds(n, params, g, local, link, HIDDEN_SHARE["spare core"])
                out.append(f"| {n} | {local} | {link} Gbit/s | {comm * 1e3:.0f} | {s_meas * 1e3:.0f} | {100 * c / s_meas:.0f} % "
                           f"| {s_spare * 1e3:.0f} | {100 * c / s_spare:.0f} % |")
        out.append("")
    # When do bigger buckets pay: the latency term at 512 ranks.
    out.append("Latency term of one step's all-reduce at 512 ranks (2(n-1)·α per bucket):\n")
    out.append("| model | 25 MB buckets | 100 MB buckets | one bucket |")
    out.append("|---|---:|---:|---:|")
    for name, (params, _, _) in MODELS.items():
        size = params * 4
        cells = [2 * 511 * ALPHA * max(1, math.ceil(size / (mb << 20))) * 1e3 for mb in (25, 100)] + [2 * 511 * ALPHA * 1e3]
        out.append(f"| {name} | " + " | ".join(f"{x:.0f} ms" for x in cells) + " |")
    return "\n".join(out)


def svg(flops, path):
    width, height, left, bottom, top, right = 640, 380, 60, 50, 20, 170
    xs = [2 ** k for k in range(1, 10)]  # 2..512

    def px(n):
        return left + (math.log2(n) - 1) / 8 * (width - left - right)

    def py(e):
        return top + (1 - e) * (height - top - bottom)

    colours = {25: "#d62728", 100: "#1f77b4", 200: "#2ca02c"}
    dashes = {"clip-vit-b16-mimic": "", "m3ae-paper": "6,4"}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
             f'<rect width="{width}" height="{height}" fill="white"/>']
    for e in (0, 0.25, 0.5, 0.75, 1):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{py(e):.1f}" y2="{py(e):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{py(e) + 4:.1f}" text-anchor="end">{int(e * 100)} %</text>')
    for n in xs:
        parts.append(f'<text x="{px(n):.1f}" y="{height - bottom + 16}" text-anchor="middle">{n}</text>')
    parts.append(f'<text x="{(left + width - right) / 2:.0f}" y="{height - 12}" text-anchor="middle">ranks (one per {CORES_PER_RANK}-core node, 32 samples each)</text>')
    parts.append(f'<text x="14" y="{(top + height - bottom) / 2:.0f}" transform="rotate(-90 14 {(top + height - bottom) / 2:.0f})" text-anchor="middle">scaling efficiency</text>')
    legend_y = top + 10
    for name, (params, _, b) in MODELS.items():
        for link in LINKS_GBIT:
            points = []
            for n in xs:
                c, _, s = step_seconds(n, params, flops[name], b, link, HIDDEN_SHARE["measured"])
                points.append(f"{px(n):.1f},{py(c / s):.1f}")
            dash = f' stroke-dasharray="{dashes[name]}"' if dashes[name] else ""
            parts.append(f'<polyline fill="none" stroke="{colours[link]}" stroke-width="2"{dash} points="{" ".join(points)}"/>')
            parts.append(f'<line x1="{width - right + 10}" x2="{width - right + 34}" y1="{legend_y}" y2="{legend_y}" stroke="{colours[link]}" stroke-width="2"{dash}/>')
            parts.append(f'<text x="{width - right + 38}" y="{legend_y + 4}">{name.split("-")[0]} {link} Gbit/s</text>')
            legend_y += 16
    parts.append(f'<text x="{left}" y="{top - 6}">predicted by the α–β ring model, backward hiding 40 % (measured), 25 MB buckets</text>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svg", default="docs/scaling.svg")
    parser.add_argument("--clip-gflop", type=float, required=True, help="training GEMM GFLOP per sample, clip-vit-b16-mimic")
    parser.add_argument("--m3ae-gflop", type=float, required=True, help="training GEMM GFLOP per sample, m3ae-paper")
    args = parser.parse_args()
    flops = {"clip-vit-b16-mimic": args.clip_gflop, "m3ae-paper": args.m3ae_gflop}
    print(tables(flops))
    svg(flops, args.svg)


if __name__ == "__main__":
    main()
