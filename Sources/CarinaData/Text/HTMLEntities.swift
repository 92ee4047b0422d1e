// HTML character references decoded as Python's `html.unescape` decodes them (what OpenAI CLIP and open_clip
// apply, twice, to every text) and as ftfy's `unescape_html` step does, for CLIPTextCleaning. The named
// entities are HTML 4's 252, &apos;, and the 106 legacy names HTML5 also reads without the semicolon (&amp,
// &AMP;, &eacute): Python knows HTML5's 2,231, so a rare HTML5-only name such as &checkmark; stays as
// written. Numeric references follow Python exactly (Windows-1252 for 128-159, U+FFFD for 0, surrogates and
// beyond U+10FFFF, nothing for the code points HTML forbids). Not for: escaping, or HTML parsing of any
// other kind.

enum HTMLEntities {
    /// "name;" (and the legacy names without ";") to text; generated from Python 3.11's html.entities
    /// (`html5` restricted to `name2codepoint`'s names, "apos" and the legacy names), values as hex code points.
    private static let table = """
        AElig;=C6 AMP;=26 Aacute;=C1 Acirc;=C2 Agrave;=C0 Alpha;=391 Aring;=C5 Atilde;=C3 Auml;=C4 Beta;=392 COPY;=A9
        Ccedil;=C7 Chi;=3A7 Dagger;=2021 Delta;=394 ETH;=D0 Eacute;=C9 Ecirc;=CA Egrave;=C8 Epsilon;=395 Eta;=397
        Euml;=CB GT;=3E Gamma;=393 Iacute;=CD Icirc;=CE Igrave;=CC Iota;=399 Iuml;=CF Kappa;=39A LT;=3C Lambda;=39B
        Mu;=39C Ntilde;=D1 Nu;=39D OElig;=152 Oacute;=D3 Ocirc;=D4 Ograve;=D2 Omega;=3A9 Omicron;=39F Oslash;=D8
        Otilde;=D5 Ouml;=D6 Phi;=3A6 Pi;=3A0 Prime;=2033 Psi;=3A8 QUOT;=22 REG;=AE Rho;=3A1 Scaron;=160 Sigma;=3A3
        THORN;=DE Tau;=3A4 Theta;=398 Uacute;=DA Ucirc;=DB Ugrave;=D9 Upsilon;=3A5 Uuml;=DC Xi;=39E Yacute;=DD
        Yuml;=178 Zeta;=396 aacute;=E1 acirc;=E2 acute;=B4 aelig;=E6 agrave;=E0 alefsym;=2135 alpha;=3B1 amp;=26
        and;=2227 ang;=2220 apos;=27 aring;=E5 asymp;=2248 atilde;=E3 auml;=E4 bdquo;=201E beta;=3B2 brvbar;=A6
        bull;=2022 cap;=2229 ccedil;=E7 cedil;=B8 cent;=A2 chi;=3C7 circ;=2C6 clubs;=2663 cong;=2245 copy;=A9
        crarr;=21B5 cup;=222A curren;=A4 dArr;=21D3 dagger;=2020 darr;=2193 deg;=B0 delta;=3B4 diams;=2666 divide;=F7
        eacute;=E9 ecirc;=EA egrave;=E8 empty;=2205 emsp;=2003 ensp;=2002 epsilon;=3B5 equiv;=2261 eta;=3B7 eth;=F0
        euml;=EB euro;=20AC exist;=2203 fnof;=192 forall;=2200 frac12;=BD frac14;=BC frac34;=BE frasl;=2044 gamma;=3B3
        ge;=2265 gt;=3E hArr;=21D4 harr;=2194 hearts;=2665 hellip;=2026 iacute;=ED icirc;=EE iexcl;=A1 igrave;=EC
        image;=2111 infin;=221E int;=222B iota;=3B9 iquest;=BF isin;=2208 iuml;=EF kappa;=3BA lArr;=21D0 lambda;=3BB
        lang;=27E8 laquo;=AB larr;=2190 lceil;=2308 ldquo;=201C le;=2264 lfloor;=230A lowast;=2217 loz;=25CA lrm;=200E
        lsaquo;=2039 lsquo;=2018 lt;=3C macr;=AF mdash;=2014 micro;=B5 middot;=B7 minus;=2212 mu;=3BC nabla;=2207
        nbsp;=A0 ndash;=2013 ne;=2260 ni;=220B not;=AC notin;=2209 nsub;=2284 ntilde;=F1 nu;=3BD oacute;=F3 ocirc;=F4
        oelig;=153 ograve;=F2 oline;=203E omega;=3C9 omicron;=3BF oplus;=2295 or;=2228 ordf;=AA ordm;=BA oslash;=F8
        otilde;=F5 otimes;=2297 ouml;=F6 para;=B6 part;=2202 permil;=2030 perp;=22A5 phi;=3C6 pi;=3C0 piv;=3D6
        plusmn;=B1 pound;=A3 prime;=2032 prod;=220F prop;=221D psi;=3C8 quot;=22 rArr;=21D2 radic;=221A rang;=27E9
        raquo;=BB rarr;=2192 rceil;=2309 rdquo;=201D real;=211C reg;=AE rfloor;=230B rho;=3C1 rlm;=200F rsaquo;=203A
        rsquo;=2019 sbquo;=201A scaron;=161 sdot;=22C5 sect;=A7 shy;=AD sigma;=3C3 sigmaf;=3C2 sim;=223C spades;=2660
        sub;=2282 sube;=2286 sum;=2211 sup;=2283 sup1;=B9 sup2;=B2 sup3;=B3 supe;=2287 szlig;=DF tau;=3C4 there4;=2234
        theta;=3B8 thetasym;=3D1 thinsp;=2009 thorn;=FE tilde;=2DC times;=D7 trade;=2122 uArr;=21D1 uacute;=FA
        uarr;=2191 ucirc;=FB ugrave;=F9 uml;=A8 upsih;=3D2 upsilon;=3C5 uuml;=FC weierp;=2118 xi;=3BE yacute;=FD
        yen;=A5 yuml;=FF zeta;=3B6 zwj;=200D zwnj;=200C AElig=C6 AMP=26 Aacute=C1 Acirc=C2 Agrave=C0 Aring=C5
        Atilde=C3 Auml=C4 COPY=A9 Ccedil=C7 ETH=D0 Eacute=C9 Ecirc=CA Egrave=C8 Euml=CB GT=3E Iacute=CD Icirc=CE
        Igrave=CC Iuml=CF LT=3C Ntilde=D1 Oacute=D3 Ocirc=D4 Ograve=D2 Oslash=D8 Otilde=D5 Ouml=D6 QUOT=22 REG=AE
        THORN=DE Uacute=DA Ucirc=DB Ugrave=D9 Uuml=DC Yacute=DD aacute=E1 acirc=E2 acute=B4 aelig=E6 agrave=E0 amp=26
        aring=E5 atilde=E3 auml=E4 brvbar=A6 ccedil=E7 cedil=B8 cent=A2 copy=A9 curren=A4 deg=B0 divide=F7 eacute=E9
        ecirc=EA egrave=E8 eth=F0 euml=EB frac12=BD frac14=BC frac34=BE gt=3E iacute=ED icirc=EE iexcl=A1 igrave=EC
        iquest=BF iuml=EF laquo=AB lt=3C macr=AF micro=B5 middot=B7 nbsp=A0 not=AC ntilde=F1 oacute=F3 ocirc=F4
        ograve=F2 ordf=AA ordm=BA oslash=F8 otilde=F5 ouml=F6 para=B6 plusmn=B1 pound=A3 quot=22 raquo=BB reg=AE
        sect=A7 shy=AD sup1=B9 sup2=B2 sup3=B3 szlig=DF thorn=FE times=D7 uacute=FA ucirc=FB ugrave=F9 uml=A8 uuml=FC
        yacute=FD yen=A5 yuml=FF
        """

    static let named: [String: String] = {
        var out: [String: String] = [:]
        for entry in table.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let parts = entry.split(separator: "=")
            let scalars = parts[1].split(separator: ",").map { Unicode.Scalar(UInt32($0, radix: 16)!)! }
            out[String(parts[0])] = String(String.UnicodeScalarView(scalars))
        }
        return out
    }()

    /// ftfy's upper-case forms (&NTILDE; for Ñ): each all-lower-case name whose upper-case form is not
    /// itself decoded by `unescape`, standing for its text upper-cased.
    static let upperCaseNamed: [String: String] = {
        var out: [String: String] = [:]
        for (name, text) in named where name.hasSuffix(";") && name == name.lowercased() {
            let upper = name.uppercased()
            if unescape("&" + upper) == "&" + upper { out[upper] = text.uppercased() }
        }
        return out
    }()

    /// Python's `html.unescape`: `&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)` replaced; a name
    /// not known whole is decoded by its longest known prefix (of at least two characters) when that prefix
    /// is a legacy entity (as "&ampx" gives "&x").
    static func unescape(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "&")) else { return text }
        let s = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            guard s[i] == "&", i + 1 < s.count else { out.append(s[i]); i += 1; continue }
            if let (end, replacement) = reference(s, at: i) {
                out.append(contentsOf: replacement.unicodeScalars)
                i = end
            } else {
                out.append(s[i]); i += 1
            }
        }
        return String(out)
    }

    /// The reference starting with "&" at `i`: where it ends and what it stands for; nil if none starts there.
    private static func reference(_ s: [Unicode.Scalar], at i: Int) -> (Int, String)? {
        var j = i + 1
        if s[j] == "#" {
            j += 1
            let hex = j < s.count && (s[j] == "x" || s[j] == "X")
            if hex { j += 1 }
            let digitsStart = j
            var value: UInt32 = 0
            while j < s.count, let d = digit(s[j], hex: hex) {
                value = min(value * (hex ? 16 : 10) + d, 0x110000)  // saturates past the last code point
                j += 1
            }
            guard j > digitsStart else { return nil }
            if j < s.count && s[j] == ";" { j += 1 }
            return (j, character(value))
        }
        let stop: Set<Unicode.Scalar> = ["\t", "\n", "\u{0C}", " ", "<", "&", "#", ";"]
        while j < s.count && j - (i + 1) < 32 && !stop.contains(s[j]) { j += 1 }
        guard j > i + 1 else { return nil }
        if j < s.count && s[j] == ";" { j += 1 }
        let name = String(String.UnicodeScalarView(s[(i + 1)..<j]))
        if let text = named[name] { return (j, text) }
        let scalars = Array(name.unicodeScalars)
        if scalars.count > 2 {
            for x in stride(from: scalars.count - 1, through: 2, by: -1) {
                if let text = named[String(String.UnicodeScalarView(scalars[..<x]))] {
                    return (j, text + String(String.UnicodeScalarView(scalars[x...])))
                }
            }
        }
        return (j, "&" + name)
    }

    private static func digit(_ u: Unicode.Scalar, hex: Bool) -> UInt32? {
        switch u.value {
        case 0x30...0x39: return u.value - 0x30
        case 0x41...0x46 where hex: return u.value - 0x41 + 10
        case 0x61...0x66 where hex: return u.value - 0x61 + 10
        default: return nil
        }
    }

    /// Python's rules for a numeric reference's code point.
    private static func character(_ value: UInt32) -> String {
        if value == 0 { return "\u{FFFD}" }
        if value == 0x0D { return "\r" }
        if (0x80...0x9F).contains(value) { return String(windows1252(UInt8(value))) }
        if (0xD800...0xDFFF).contains(value) || value > 0x10FFFF { return "\u{FFFD}" }
        if (0x01...0x08).contains(value) || value == 0x0B || (0x0E...0x1F).contains(value) || value == 0x7F
            || (0xFDD0...0xFDEF).contains(value) || value & 0xFFFE == 0xFFFE {
            return ""
        }
        return String(Unicode.Scalar(value)!)
    }

    /// The Windows-1252 character of a byte 0x80-0x9F; the five bytes it leaves undefined stand for
    /// themselves (Python's "sloppy" reading, as html.unescape and ftfy's fix_c1_controls use).
    static func windows1252(_ byte: UInt8) -> Unicode.Scalar {
        let table: [UInt32] = [0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
                               0x2039, 0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
                               0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178]
        return Unicode.Scalar(table[Int(byte) - 0x80])!
    }

    /// ftfy's `unescape_html`: each `&#?[0-9A-Za-z]{1,24};` that is a known name (or its upper-case form)
    /// or a numeric reference `unescape` decodes whole is replaced; anything else stays.
    static func ftfyUnescape(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "&")) else { return text }
        let s = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        func alphanumeric(_ u: Unicode.Scalar) -> Bool {
            (0x30...0x39).contains(u.value) || (0x41...0x5A).contains(u.value) || (0x61...0x7A).contains(u.value)
        }
        while i < s.count {
            guard s[i] == "&" else { out.append(s[i]); i += 1; continue }
            var j = i + 1
            let numeric = j < s.count && s[j] == "#"
            if numeric { j += 1 }
            let start = j
            while j < s.count && alphanumeric(s[j]) && j - start < 25 { j += 1 }
            guard j > start, j - start <= 24, j < s.count, s[j] == ";" else { out.append(s[i]); i += 1; continue }
            let match = String(String.UnicodeScalarView(s[i...j]))
            let name = String(String.UnicodeScalarView(s[(i + 1)...j]))
            var replacement: String? = nil
            if let text = named[name], !numeric {
                replacement = text
            } else if let text = upperCaseNamed[name], !numeric {
                replacement = text
            } else if numeric {
                let decoded = unescape(match)
                if !decoded.contains(";") { replacement = decoded }
            }
            if let replacement {
                out.append(contentsOf: replacement.unicodeScalars)
                i = j + 1
            } else {
                out.append(s[i]); i += 1
            }
        }
        return String(out)
    }
}
