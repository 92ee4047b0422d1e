// Curves a person would rather look at than read: loss, learning rate and evaluation metrics against the
// step, drawn from metrics.jsonl as one self-contained SVG (one panel per quantity). Not for: logging.
import Foundation

public enum Plot {
    /// A series: name and (step, value) points in step order.
    public struct Series: Equatable {
        public var name: String
        public var points: [(Double, Double)]
        public static func == (a: Series, b: Series) -> Bool {
            a.name == b.name && a.points.elementsEqual(b.points) { $0 == $1 }
        }
    }

    /// Panels for a run: "train loss" and "learning rate" from train records, then one panel per headline
    /// evaluation value (kind "eval": `section/metric`; per-finding values and interval bounds stay in the
    /// log), in name order. Non-finite values are left out.
    public static func panels(_ records: [MetricsRecord]) -> [Series] {
        var byName: [String: [(Double, Double)]] = [:]
        for r in records {
            for (key, value) in r.values where value.isFinite {
                let name: String
                switch (r.kind, key) {
                case ("train", "loss"): name = "train loss"
                case ("train", "lr"): name = "learning rate"
                case ("train", _): continue
                case ("eval", _) where key.split(separator: "/").count > 2 || key.contains("_ci_"): continue
                default: name = "\(r.kind) \(key)"
                }
                byName[name, default: []].append((Double(r.step), value))
            }
        }
        let first = ["train loss", "learning rate"].filter { byName[$0] != nil }
        let rest = byName.keys.filter { !first.contains($0) }.sorted()
        return (first + rest).map { Series(name: $0, points: byName[$0]!.sorted { $0.0 < $1.0 }) }
    }

    /// An SVG document with the panels in a grid (two columns).
    public static func svg(_ panels: [Series], title: String) -> String {
        let (w, h, columns) = (420.0, 260.0, 2)
        let rows = max(1, (panels.count + columns - 1) / columns)
        var out = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(w) * columns)" height="\(Int(h) * rows + 30)" font-family="sans-serif" font-size="11">
        <rect width="100%" height="100%" fill="white"/>
        <text x="10" y="20" font-size="14" font-weight="bold">\(escape(title))</text>

        """
        for (i, series) in panels.enumerated() {
            let x0 = Double(i % columns) * w, y0 = 30 + Double(i / columns) * h
            out += panel(series, x: x0, y: y0, width: w, height: h)
        }
        return out + "</svg>\n"
    }

    static func panel(_ s: Series, x: Double, y: Double, width: Double, height: Double) -> String {
        let (left, right, top, bottom) = (x + 55, x + width - 15, y + 25, y + height - 30)
        guard let minX = s.points.map(\.0).min(), let maxX = s.points.map(\.0).max(),
              var minY = s.points.map(\.1).min(), var maxY = s.points.map(\.1).max() else { return "" }
        if minY == maxY { minY -= 0.5; maxY += 0.5 }
        let spanX = max(maxX - minX, 1)
        func px(_ v: Double) -> Double { left + (v - minX) / spanX * (right - left) }
        func py(_ v: Double) -> Double { bottom - (v - minY) / (maxY - minY) * (bottom - top) }
        let path = s.points.map { String(format: "%.1f,%.1f", px($0.0), py($0.1)) }.joined(separator: " ")
        var out = "<g>\n<text x=\"\(left)\" y=\"\(y + 15)\" font-weight=\"bold\">\(escape(s.name))</text>\n"
        out += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(right - left)\" height=\"\(bottom - top)\" fill=\"none\" stroke=\"#bbb\"/>\n"
        for (value, label) in [(minY, format(minY)), (maxY, format(maxY))] {
            out += "<text x=\"\(left - 4)\" y=\"\(py(value) + 4)\" text-anchor=\"end\">\(label)</text>\n"
        }
        for (value, label) in [(minX, format(minX)), (maxX, format(maxX))] {
            out += "<text x=\"\(px(value))\" y=\"\(bottom + 14)\" text-anchor=\"middle\">\(label)</text>\n"
        }
        out += "<text x=\"\((left + right) / 2)\" y=\"\(bottom + 26)\" text-anchor=\"middle\" fill=\"#666\">step</text>\n"
        if s.points.count == 1 {
            out += "<circle cx=\"\(px(s.points[0].0))\" cy=\"\(py(s.points[0].1))\" r=\"3\" fill=\"#1f77b4\"/>\n"
        } else {
            out += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\"/>\n"
        }
        return out + "</g>\n"
    }

    static func format(_ v: Double) -> String {
        abs(v) >= 1e4 || (abs(v) < 1e-3 && v != 0) ? String(format: "%.2e", v) : String(format: "%.4g", v)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// Reads RUN_DIR/metrics.jsonl and writes the SVG to `output` (default RUN_DIR/curves.svg).
    @discardableResult
    public static func write(runDirectory: String, output: String? = nil) throws -> String {
        let records = try MetricsLog.read((runDirectory as NSString).appendingPathComponent("metrics.jsonl"))
        let target = output ?? (runDirectory as NSString).appendingPathComponent("curves.svg")
        let text = svg(panels(records), title: "Carina run \((runDirectory as NSString).lastPathComponent)")
        guard FileManager.default.createFile(atPath: target, contents: Data(text.utf8)) else {
            throw ConfigError("cannot write \(target)")
        }
        return target
    }
}
