// The split patterns of byte-level BPE, written out by hand instead of a regular-expression engine (Foundation's
// NSRegularExpression has no lookahead-free way to say GPT-2's `\s+(?!\S)`, and its \p classes follow ICU's
// Unicode version, not one we can pin). Over Unicode scalars, as Python's `regex` and HF's Rust tokenizers see
// the text: letters are categories L*, numbers N*, whitespace the White_Space property.
// Not for: clean-up (CLIPTextCleaning) or merging (ByteLevelBPETokenizer).

enum BPEPreTokenizer {
    /// CLIP's pattern (OpenAI CLIP, open_clip, HF CLIPTokenizer), on cleaned, lower-cased text:
    /// `'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`, case-insensitive, the leftmost
    /// alternative that matches winning at each position; unmatched scalars (whitespace) are skipped. The
    /// special-token alternatives are left out (see TextTokenizer). Case-insensitive matching only matters for
    /// the long s (U+017F), which folds to "s" ("'ſ" is a contraction, as in Python's `regex`).
    static func clip(_ s: [Unicode.Scalar]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = 0
        let n = s.count
        while i < n {
            if let end = contraction(s, at: i, caseInsensitive: true) {
                out.append(i..<end); i = end
            } else if isLetter(s[i]) {
                var j = i + 1
                while j < n && isLetter(s[j]) { j += 1 }
                out.append(i..<j); i = j
            } else if isNumber(s[i]) {
                out.append(i..<(i + 1)); i += 1
            } else if !isWhitespace(s[i]) {
                var j = i + 1
                while j < n && isOther(s[j]) { j += 1 }
                out.append(i..<j); i = j
            } else {
                i += 1
            }
        }
        return out
    }

    /// GPT-2's pattern (RoBERTa, HF ByteLevel pre-tokenizer with `add_prefix_space` false):
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, case-sensitive. Every
    /// scalar belongs to some piece: a run of whitespace before a word gives its last scalar to the word when
    /// that is a plain space, and stands alone otherwise.
    static func gpt2(_ s: [Unicode.Scalar]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = 0
        let n = s.count
        func run(from start: Int, _ member: (Unicode.Scalar) -> Bool) -> Int {
            var j = start
            while j < n && member(s[j]) { j += 1 }
            return j
        }
        while i < n {
            if let end = contraction(s, at: i, caseInsensitive: false) {
                out.append(i..<end); i = end
                continue
            }
            // " ?" followed by a letter, number or other run: the optional space joins the run.
            let start = s[i] == " " && i + 1 < n && !isWhitespace(s[i + 1]) ? i + 1 : i
            let c = s[start]
            if isLetter(c) {
                let j = run(from: start, isLetter); out.append(i..<j); i = j
            } else if isNumber(c) {
                let j = run(from: start, isNumber); out.append(i..<j); i = j
            } else if !isWhitespace(c) {
                let j = run(from: start, isOther); out.append(i..<j); i = j
            } else {
                // `\s+(?!\S)`: the whole run at the end of the text, or all but its last scalar before a
                // non-space; `\s+` otherwise (a single whitespace scalar before a non-space).
                let j = run(from: i, isWhitespace)
                let end = j == n || j - i == 1 ? j : j - 1
                out.append(i..<end); i = end
            }
        }
        return out
    }

    /// The end of `'s|'t|'re|'ve|'m|'ll|'d` at `i`, if one matches there.
    private static func contraction(_ s: [Unicode.Scalar], at i: Int, caseInsensitive: Bool) -> Int? {
        guard s[i] == "'", i + 1 < s.count else { return nil }
        func at(_ k: Int, _ c: Unicode.Scalar) -> Bool {
            guard i + k < s.count else { return false }
            let x = s[i + k]
            if x == c { return true }
            guard caseInsensitive else { return false }
            // Simple case folding of the letters involved: ASCII upper case, and long s to s.
            if x.value >= 65 && x.value <= 90 && x.value + 32 == c.value { return true }
            return c == "s" && x == "\u{017F}"
        }
        if at(1, "s") || at(1, "t") || at(1, "m") || at(1, "d") { return i + 2 }
        if (at(1, "r") && at(2, "e")) || (at(1, "v") && at(2, "e")) || (at(1, "l") && at(2, "l")) { return i + 3 }
        return nil
    }

    static func isLetter(_ u: Unicode.Scalar) -> Bool {
        if u.value < 0x80 { return (u.value | 0x20) >= 0x61 && (u.value | 0x20) <= 0x7A }
        switch u.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ u: Unicode.Scalar) -> Bool {
        if u.value < 0x80 { return u.value >= 0x30 && u.value <= 0x39 }
        switch u.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// `\s`: the White_Space property (U+0009-U+000D, space, U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028,
    /// U+2029, U+202F, U+205F, U+3000), as Oniguruma and Python's `regex` define it for Unicode text.
    static func isWhitespace(_ u: Unicode.Scalar) -> Bool {
        if u.value < 0x80 { return u == " " || (u.value >= 9 && u.value <= 13) }
        return u.properties.isWhitespace
    }

    /// `[^\s\p{L}\p{N}]`.
    static func isOther(_ u: Unicode.Scalar) -> Bool { !isWhitespace(u) && !isLetter(u) && !isNumber(u) }
}
