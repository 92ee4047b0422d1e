// CLIP's text clean-up before its BPE, as OpenAI CLIP and open_clip write it:
// `whitespace_clean(basic_clean(text)).lower()`, where basic_clean is `html.unescape(html.unescape(
// ftfy.fix_text(text)))`. ftfy is not available, so its steps are written out here, all but one: the
// mojibake repair (`fix_encoding`, which guesses that "Ã©" was "é" read in the wrong encoding) is not done —
// text that looks like mojibake is tokenised as written. Everything else ftfy does by default is: HTML
// entities in lines without "<", C1 controls read as Windows-1252, Latin ligatures split, full-width forms
// narrowed, curly quotes straightened, line breaks unified, terminal escapes and control characters dropped,
// NFC; then Python's whitespace split and `str.lower` (final sigma included). HF's CLIPTokenizer does less
// (NFC, whitespace, lower-case: no HTML, no quotes), so the two disagree on such texts; this follows CLIP.
// Not for: splitting into pieces (BPEPreTokenizer) or BPE (ByteLevelBPETokenizer).
import Foundation

public enum CLIPTextCleaning {
    /// The text CLIP's pattern runs over. O(n) in the text's length (ftfy's repeat-until-unchanged loop is
    /// capped at `maxFixPasses` passes; only nested entities such as "&amp;amp;amp;" need more than two).
    public static func clean(_ text: String) -> String {
        let fixed = HTMLEntities.unescape(HTMLEntities.unescape(fixText(text)))
        let words = fixed.unicodeScalars.split(whereSeparator: isPythonWhitespace)
        let joined = words.map { String(String.UnicodeScalarView($0)) }.joined(separator: " ")
        return String(String.UnicodeScalarView(WordPieceTokenizer.pythonLowercased(Array(joined.unicodeScalars))))
    }

    static let maxFixPasses = 16
    /// ftfy fixes at most this many characters as one segment (its `max_decode_length`).
    static let maxSegment = 1_000_000

    /// ftfy's `fix_text` with its default settings, less `fix_encoding`: the text in segments that end after
    /// each "\n"; HTML entities are decoded until the first segment holding "<" and never after it.
    static func fixText(_ text: String) -> String {
        let s = Array(text.unicodeScalars)
        var out = ""
        var unescapeHTML = true
        var start = 0
        while start < s.count {
            var end = start
            while end < s.count && end - start < maxSegment && s[end] != "\n" { end += 1 }
            if end < s.count && s[end] == "\n" && end - start < maxSegment { end += 1 }
            let segment = String(String.UnicodeScalarView(s[start..<end]))
            if unescapeHTML && segment.unicodeScalars.contains("<") { unescapeHTML = false }
            out += fixSegment(segment, unescapeHTML: unescapeHTML)
            start = end
        }
        return out
    }

    /// ftfy's `fix_and_explain` on one segment: its fixes in its order, repeated until nothing changes.
    static func fixSegment(_ segment: String, unescapeHTML: Bool) -> String {
        var text = segment
        for _ in 0..<maxFixPasses {
            let before = text
            if unescapeHTML { text = HTMLEntities.ftfyUnescape(text) }
            text = fixCharacters(text)
            text = WordPieceTokenizer.normalized(text, decomposed: false)
            if text == before { break }
        }
        return text
    }

    /// fix_c1_controls, fix_latin_ligatures, fix_character_width, uncurl_quotes, fix_line_breaks,
    /// remove_terminal_escapes and remove_control_chars, one after another as ftfy runs them.
    static func fixCharacters(_ text: String) -> String {
        var s = [Unicode.Scalar]()
        s.reserveCapacity(text.unicodeScalars.count)
        for u in text.unicodeScalars {
            var u = u
            if (0x80...0x9F).contains(u.value) { u = HTMLEntities.windows1252(UInt8(u.value)) }
            if let ligature = ligatures[u] {
                s.append(contentsOf: ligature.unicodeScalars)
            } else if u.value == 0x3000 {
                s.append(" ")
            } else if (0xFF01...0xFFEF).contains(u.value) {
                s.append(contentsOf: String(u).precomposedStringWithCompatibilityMapping.unicodeScalars)
            } else {
                s.append(u)
            }
        }
        // uncurl_quotes
        for i in s.indices {
            switch s[i].value {
            case 0x02BC, 0x2018...0x201B: s[i] = "'"
            case 0x201C...0x201F: s[i] = "\""
            default: break
            }
        }
        // fix_line_breaks: CRLF, CR, U+2028, U+2029, U+0085 to "\n".
        var lines = [Unicode.Scalar]()
        lines.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            switch s[i].value {
            case 0x0D:
                lines.append("\n")
                if i + 1 < s.count && s[i + 1] == "\n" { i += 1 }
            case 0x2028, 0x2029, 0x85:
                lines.append("\n")
            default:
                lines.append(s[i])
            }
            i += 1
        }
        // remove_terminal_escapes: ESC [ (digit | ;)* letter; then remove_control_chars.
        var out = String.UnicodeScalarView()
        i = 0
        while i < lines.count {
            if lines[i].value == 0x1B, i + 1 < lines.count, lines[i + 1] == "[" {
                var j = i + 2
                while j < lines.count && (lines[j] == ";" || lines[j].properties.numericType == .decimal) { j += 1 }
                if j < lines.count && lines[j].isASCII && lines[j].properties.isAlphabetic {
                    i = j + 1
                    continue
                }
            }
            if !isRemovedControl(lines[i]) { out.append(lines[i]) }
            i += 1
        }
        return String(out)
    }

    /// ftfy's control characters: U+0000-U+0008, U+000B, U+000E-U+001F, U+007F, U+206A-U+206F, U+FEFF,
    /// U+FFF9-U+FFFC.
    static func isRemovedControl(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x00...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0x206A...0x206F, 0xFEFF, 0xFFF9...0xFFFC: return true
        default: return false
        }
    }

    /// Python's `str.split()` separators (`str.isspace`): the White_Space characters and U+001C-U+001F.
    static func isPythonWhitespace(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// ftfy's LIGATURES: Latin typographic ligatures and legacy digraphs, split.
    static let ligatures: [Unicode.Scalar: String] = [
        "\u{0132}": "IJ", "\u{0133}": "ij", "\u{0149}": "\u{02BC}n", "\u{01F1}": "DZ", "\u{01F2}": "Dz",
        "\u{01F3}": "dz", "\u{01C4}": "D\u{017D}", "\u{01C5}": "D\u{017E}", "\u{01C6}": "d\u{017E}",
        "\u{01C7}": "LJ", "\u{01C8}": "Lj", "\u{01C9}": "lj", "\u{01CA}": "NJ", "\u{01CB}": "Nj", "\u{01CC}": "nj",
        "\u{FB00}": "ff", "\u{FB01}": "fi", "\u{FB02}": "fl", "\u{FB03}": "ffi", "\u{FB04}": "ffl",
        "\u{FB05}": "\u{017F}t", "\u{FB06}": "st",
    ]
}
