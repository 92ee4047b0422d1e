// BERT's basic tokenisation against HF transformers' Python BasicTokenizer, lower-cased and cased, on
// CJK, control and format characters, Unicode whitespace, accents, special casing, punctuation and emoji.
import Testing
import CarinaData

/// (input, do_lower_case=True, do_lower_case=False), printed by reference/bert_basic_tokenizer.py
/// (transformers 5.24.0, Python 3.11.7, Unicode 14.0.0).
private let hfBasicTokens: [(String, [String], [String])] = [
    ("Hello \u{4E16}\u{754C} cxr\u{80BA}\u{708E}test \u{20000}x\u{8C48}",
     ["hello", "\u{4E16}", "\u{754C}", "cxr", "\u{80BA}", "\u{708E}", "test", "\u{20000}", "x", "\u{8C48}"],
     ["Hello", "\u{4E16}", "\u{754C}", "cxr", "\u{80BA}", "\u{708E}", "test", "\u{20000}", "x", "\u{8C48}"]),
    ("a\u{B}b\u{C}c\u{85}d e\u{FFFD}f\u{0}g",
     ["abcd", "efg"],
     ["abcd", "efg"]),
    ("left\u{9}lung\u{A}right\u{D}\u{A}lung \u{2028}line\u{2029}para",
     ["left", "lung", "right", "lung", "line", "para"],
     ["left", "lung", "right", "lung", "line", "para"]),
    ("no\u{A0}effusion\u{3000}seen\u{202F}here",
     ["no", "effusion", "seen", "here"],
     ["no", "effusion", "seen", "here"]),
    ("heart\u{200D}size soft\u{AD}hyphen \u{E000}private",
     ["heartsize", "softhyphen", "private"],
     ["heartsize", "softhyphen", "private"]),
    ("\u{C5}NGSTR\u{D6}M r\u{E9}sum\u{E9} NA\u{CF}VE \u{DC}nter",
     ["angstrom", "resume", "naive", "unter"],
     ["\u{C5}NGSTR\u{D6}M", "r\u{E9}sum\u{E9}", "NA\u{CF}VE", "\u{DC}nter"]),
    ("re\u{301}sume\u{301} A\u{30A} \u{301}alone",
     ["resume", "a", "alone"],
     ["r\u{E9}sum\u{E9}", "\u{C5}", "\u{301}alone"]),
    ("\u{130}stanbul \u{DF} STRASSE \u{1C5} \u{FB01}ne",
     ["istanbul", "\u{DF}", "strasse", "\u{1C6}", "\u{FB01}ne"],
     ["\u{130}stanbul", "\u{DF}", "STRASSE", "\u{1C5}", "\u{FB01}ne"]),
    ("\u{39F}\u{394}\u{39F}\u{3A3} \u{3A3}\u{39F}\u{3A6}\u{399}\u{391}\u{3A3} \u{3A3} \u{391}\u{3A3}. \u{38C}\u{3A3}\u{39F}\u{3A3}",
     ["\u{3BF}\u{3B4}\u{3BF}\u{3C2}", "\u{3C3}\u{3BF}\u{3C6}\u{3B9}\u{3B1}\u{3C2}", "\u{3C3}", "\u{3B1}\u{3C2}", ".", "\u{3BF}\u{3C3}\u{3BF}\u{3C2}"],
     ["\u{39F}\u{394}\u{39F}\u{3A3}", "\u{3A3}\u{39F}\u{3A6}\u{399}\u{391}\u{3A3}", "\u{3A3}", "\u{391}\u{3A3}", ".", "\u{38C}\u{3A3}\u{39F}\u{3A3}"]),
    ("a.b,c;d:e!f?g-h_i(j)k[l]m{n}o\"p'q`r~s@t#u$v%w^x&y*z+1=2<3>4|5\\6/7",
     ["a", ".", "b", ",", "c", ";", "d", ":", "e", "!", "f", "?", "g", "-", "h", "_", "i", "(", "j", ")", "k", "[", "l", "]", "m", "{", "n", "}", "o", "\"", "p", "'", "q", "`", "r", "~", "s", "@", "t", "#", "u", "$", "v", "%", "w", "^", "x", "&", "y", "*", "z", "+", "1", "=", "2", "<", "3", ">", "4", "|", "5", "\\", "6", "/", "7"],
     ["a", ".", "b", ",", "c", ";", "d", ":", "e", "!", "f", "?", "g", "-", "h", "_", "i", "(", "j", ")", "k", "[", "l", "]", "m", "{", "n", "}", "o", "\"", "p", "'", "q", "`", "r", "~", "s", "@", "t", "#", "u", "$", "v", "%", "w", "^", "x", "&", "y", "*", "z", "+", "1", "=", "2", "<", "3", ">", "4", "|", "5", "\\", "6", "/", "7"]),
    ("\u{AB}quoted\u{BB} \u{2018}single\u{2019} \u{201C}double\u{201D} em\u{2014}dash\u{2026} \u{BF}qu\u{E9}? \u{A1}s\u{ED}! \u{3002}\u{3001}\u{300C}\u{300D}\u{B7}\u{A7}\u{B6}\u{2020}\u{2030}",
     ["\u{AB}", "quoted", "\u{BB}", "\u{2018}", "single", "\u{2019}", "\u{201C}", "double", "\u{201D}", "em", "\u{2014}", "dash", "\u{2026}", "\u{BF}", "que", "?", "\u{A1}", "si", "!", "\u{3002}", "\u{3001}", "\u{300C}", "\u{300D}", "\u{B7}", "\u{A7}", "\u{B6}", "\u{2020}", "\u{2030}"],
     ["\u{AB}", "quoted", "\u{BB}", "\u{2018}", "single", "\u{2019}", "\u{201C}", "double", "\u{201D}", "em", "\u{2014}", "dash", "\u{2026}", "\u{BF}", "qu\u{E9}", "?", "\u{A1}", "s\u{ED}", "!", "\u{3002}", "\u{3001}", "\u{300C}", "\u{300D}", "\u{B7}", "\u{A7}", "\u{B6}", "\u{2020}", "\u{2030}"]),
    ("chest \u{1FAC1} x-ray \u{1F44D}\u{1F3FD} ok \u{1F1FA}\u{1F1F8} \u{1F468}\u{200D}\u{2695}\u{FE0F} done",
     ["chest", "\u{1FAC1}", "x", "-", "ray", "\u{1F44D}\u{1F3FD}", "ok", "\u{1F1FA}\u{1F1F8}", "\u{1F468}\u{2695}", "done"],
     ["chest", "\u{1FAC1}", "x", "-", "ray", "\u{1F44D}\u{1F3FD}", "ok", "\u{1F1FA}\u{1F1F8}", "\u{1F468}\u{2695}\u{FE0F}", "done"]),
    ("\u{FF26}\u{FF55}\u{FF4C}\u{FF4C}\u{FF57}\u{FF49}\u{FF44}\u{FF54}\u{FF48} \u{FF21}\u{FF22}\u{FF23}\u{FF11}\u{FF12}\u{FF13}\u{FF01}",
     ["\u{FF46}\u{FF55}\u{FF4C}\u{FF4C}\u{FF57}\u{FF49}\u{FF44}\u{FF54}\u{FF48}", "\u{FF41}\u{FF42}\u{FF43}\u{FF11}\u{FF12}\u{FF13}", "\u{FF01}"],
     ["\u{FF26}\u{FF55}\u{FF4C}\u{FF4C}\u{FF57}\u{FF49}\u{FF44}\u{FF54}\u{FF48}", "\u{FF21}\u{FF22}\u{FF23}\u{FF11}\u{FF12}\u{FF13}", "\u{FF01}"]),
    ("\u{D55C}\u{AD6D}\u{C5B4} \u{3072}\u{3089}\u{304C}\u{306A} \u{30AB}\u{30BF}\u{30AB}\u{30CA} \u{FF8A}\u{FF9E}\u{FF76}",
     ["\u{1112}\u{1161}\u{11AB}\u{1100}\u{116E}\u{11A8}\u{110B}\u{1165}", "\u{3072}\u{3089}\u{304B}\u{306A}", "\u{30AB}\u{30BF}\u{30AB}\u{30CA}", "\u{FF8A}\u{FF9E}\u{FF76}"],
     ["\u{D55C}\u{AD6D}\u{C5B4}", "\u{3072}\u{3089}\u{304C}\u{306A}", "\u{30AB}\u{30BF}\u{30AB}\u{30CA}", "\u{FF8A}\u{FF9E}\u{FF76}"]),
    ("x\u{1FEF}y a.\u{301}b \u{80BA}\u{301} \u{212B}\u{2126}",
     ["x", "`", "y", "a", ".", "b", "\u{80BA}", "a\u{3C9}"],
     ["x", "`", "y", "a", ".", "\u{301}b", "\u{80BA}", "\u{301}", "\u{C5}\u{3A9}"]),
    (" \u{9}\u{0}\u{A} ",
     [],
     [])
]

/// Swift compares strings up to canonical equivalence ("e\u{301}" == "\u{E9}"): compare scalars.
private func scalars(_ tokens: [String]) -> [[UInt32]] { tokens.map { $0.unicodeScalars.map(\.value) } }

@Suite struct BasicTokenizerTests {
    @Test(arguments: hfBasicTokens.indices)
    func lowerCasedBasicTokensMatchHFBert(_ i: Int) {
        let (text, expected, _) = hfBasicTokens[i]
        let got = WordPieceTokenizer.basicTokens(text, lowercase: true)
        #expect(scalars(got) == scalars(expected), "\(text.debugDescription): \(got.debugDescription)")
    }

    @Test(arguments: hfBasicTokens.indices)
    func casedBasicTokensMatchHFBert(_ i: Int) {
        let (text, _, expected) = hfBasicTokens[i]
        let got = WordPieceTokenizer.basicTokens(text, lowercase: false)
        #expect(scalars(got) == scalars(expected), "\(text.debugDescription): \(got.debugDescription)")
    }
}
