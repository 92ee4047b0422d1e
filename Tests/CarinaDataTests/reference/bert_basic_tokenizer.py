# Prints the Swift fixture table in BasicTokenizerTests.swift: HF transformers' BERT BasicTokenizer on each
# input, lower-cased (do_lower_case=True) and cased (do_lower_case=False, strip_accents=None).
# Run: python3 -m venv /tmp/venv-hf && /tmp/venv-hf/bin/pip install transformers
#      /tmp/venv-hf/bin/python Tests/CarinaDataTests/reference/bert_basic_tokenizer.py
import sys
import unicodedata

import transformers
from transformers.models.bert.tokenization_bert_legacy import BasicTokenizer

INPUTS = [
    "Hello 世界 cxr肺炎test 𠀀x豈",                      # CJK (BMP, extension B, compatibility) next to Latin
    "a\u000bb\u000cc\u0085d e\ufffdf\u0000g",            # VT, FF, NEL, U+FFFD and NUL inside words are deleted
    "left\tlung\nright\r\nlung \u2028line\u2029para",    # tabs, newlines, line and paragraph separators
    "no\u00a0effusion\u3000seen\u202fhere",              # NBSP, ideographic space, narrow NBSP (all Zs)
    "heart\u200dsize soft\u00adhyphen \ue000private",    # ZWJ, soft hyphen (Cf) and private use (Co) deleted
    "ÅNGSTRÖM résumé NAÏVE Ünter",                       # precomposed accents
    "re\u0301sume\u0301 A\u030a \u0301alone",            # combining accents, a lone combining mark
    "İstanbul ß STRASSE ǅ ﬁne",                          # special casing: dotted I, sharp s, titlecase, ligature
    "ΟΔΟΣ ΣΟΦΙΑΣ Σ ΑΣ. ΌΣΟΣ",                            # Greek capital sigma, final and not
    "a.b,c;d:e!f?g-h_i(j)k[l]m{n}o\"p'q`r~s@t#u$v%w^x&y*z+1=2<3>4|5\\6/7",
    "«quoted» ‘single’ “double” em—dash… ¿qué? ¡sí! 。、「」·§¶†‰",
    "chest 🫁 x-ray 👍🏽 ok 🇺🇸 👨\u200d⚕\ufe0f done",  # emoji, skin tone, flag, ZWJ sequence, VS16
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ１２３！",                  # full-width letters, digits and punctuation
    "한국어 ひらがな カタカナ ﾊﾞｶ",                       # Hangul, kana (not CJK ideographs to BERT)
    "x\u1fefy a.\u0301b 肺\u0301 \u212b\u2126",          # NFC turns U+1FEF into "`"; marks after punctuation/CJK
    " \t\u0000\n ",                                      # nothing but whitespace and controls
]


def swift(s):
    out = []
    for ch in s:
        cp = ord(ch)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif 0x20 <= cp < 0x7F:
            out.append(ch)
        else:
            out.append("\\u{%X}" % cp)
    return '"' + "".join(out) + '"'


def tokens(ts):
    return "[" + ", ".join(swift(t) for t in ts) + "]"


lower = BasicTokenizer(do_lower_case=True)
cased = BasicTokenizer(do_lower_case=False)
print("// transformers %s, Python %s, Unicode %s" % (transformers.__version__, sys.version.split()[0], unicodedata.unidata_version))
for text in INPUTS:
    print("    (%s,\n     %s,\n     %s)," % (swift(text), tokens(lower.tokenize(text)), tokens(cased.tokenize(text))))
