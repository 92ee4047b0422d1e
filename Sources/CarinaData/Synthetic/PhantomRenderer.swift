// Draws a phantom chest radiograph (PA view, patient's right on the image's left) from its findings:
// soft tissue, lungs with vessel markings, mediastinum, heart, diaphragm, ribs, clavicles and noise, with
// each finding changing the picture the way it does on a real film. Not for: choosing findings or
// writing reports.
import CarinaTensor
import Foundation

struct PhantomRenderer {
    let size: Int
    var canvas: [Float]
    var rng: RNG
    // Per-sample anatomy jitter.
    let shiftX: Float, shiftY: Float, scale: Float

    init(size: Int, rng: RNG) {
        self.size = size
        canvas = [Float](repeating: 0.06, count: size * size)
        self.rng = rng
        shiftX = self.rng.uniform(-0.02, 0.02)
        shiftY = self.rng.uniform(-0.02, 0.02)
        scale = self.rng.uniform(0.95, 1.05)
    }

    /// Smooth step from 1 inside to 0 outside of a unit-radius boundary (d = normalised distance).
    @inline(__always) static func inside(_ d: Float, softness: Float = 0.06) -> Float {
        min(max((1 - d) / softness, 0), 1)
    }

    /// Normalised elliptical distance of pixel (x, y) from an ellipse centred at (cx, cy).
    @inline(__always) func ellipse(_ x: Float, _ y: Float, _ cx: Float, _ cy: Float, _ rx: Float, _ ry: Float) -> Float {
        let dx = (x - (cx + shiftX)) / (rx * scale), dy = (y - (cy + shiftY)) / (ry * scale)
        return (dx * dx + dy * dy).squareRoot()
    }

    /// Calls body(index, x, y) for every pixel, x and y in [0, 1].
    @inline(__always) func forEachPixel(_ body: (Int, Float, Float) -> Void) {
        let inv = 1 / Float(size - 1)
        for j in 0..<size { for i in 0..<size { body(j * size + i, Float(i) * inv, Float(j) * inv) } }
    }

    /// Diaphragm dome height (y) under each lung at x.
    func dome(_ x: Float) -> Float {
        let side: Float = x < 0.5 + shiftX ? -1 : 1
        let centre = 0.5 + shiftX + side * 0.19
        let t = (x - centre) / 0.2
        return 0.74 + shiftY + (side < 0 ? -0.02 : 0) + 0.06 * t * t
    }

    /// Lung membership in [0, 1] and which lung (-1 right = image left, +1 left).
    func lung(_ x: Float, _ y: Float) -> (Float, Float) {
        let r = PhantomRenderer.inside(ellipse(x, y, 0.31, 0.46, 0.155, 0.31))
        let l = PhantomRenderer.inside(ellipse(x, y, 0.69, 0.46, 0.145, 0.30))
        let below = y > dome(x) ? Float(0) : 1
        return (max(r, l) * below, r >= l ? -1 : 1)
    }

    mutating func render(_ f: PhantomFindings) -> [UInt8] {
        // Body and soft tissue, abdomen below the diaphragm.
        forEachPixel { p, x, y in
            let body = PhantomRenderer.inside(ellipse(x, y, 0.5, 0.6, 0.46, 0.62), softness: 0.08)
            canvas[p] = 0.06 + body * (y > dome(x) ? 0.62 : 0.5)
        }
        // Lungs with vessel markings radiating from the hila.
        var rays: [(cx: Float, angle: Float, length: Float)] = []
        for hilum in [Float(0.43), 0.57] {
            for _ in 0..<14 {
                let base: Float = hilum < 0.5 ? .pi : 0
                rays.append((hilum, base + rng.uniform(-1.2, 1.2), rng.uniform(0.12, 0.26)))
            }
        }
        let pneumoSide: Float? = f.pneumothorax.map { $0 == .right ? -1 : 1 }
        forEachPixel { p, x, y in
            let (m, which) = lung(x, y)
            guard m > 0 else { return }
            var markings: Float = 0
            for ray in rays where (ray.cx < 0.5) == (which < 0) {
                let dx = x - (ray.cx + shiftX), dy = y - (0.46 + shiftY)
                let dist = (dx * dx + dy * dy).squareRoot()
                guard dist < ray.length else { continue }
                let across = abs(-sin(ray.angle) * dx + cos(ray.angle) * dy)
                markings = max(markings, exp(-across * across / 0.00002) * (1 - dist / ray.length))
            }
            var value: Float = 0.2 + 0.09 * markings
            if let s = pneumoSide, s == which {
                // Pneumothorax: a lateral-apical crescent of air without markings, behind a pleural line.
                let lateral = s < 0 ? (0.31 + shiftX - x) : (x - 0.69 - shiftX)
                let edge: Float = 0.05 - (y - 0.3) * 0.35
                if y < 0.42 + shiftY && lateral > edge { value = 0.1 } else if y < 0.42 + shiftY && abs(lateral - edge) < 0.006 { value = 0.5 }
            }
            canvas[p] = canvas[p] * (1 - m) + value * m
        }
        // Ribs: curved bright bands across each hemithorax.
        forEachPixel { p, x, y in
            let (m, _) = lung(x, y)
            guard m > 0 else { return }
            let side: Float = x < 0.5 + shiftX ? -1 : 1
            let u = abs(x - 0.5 - shiftX)
            for k in 0..<8 {
                let y0 = 0.2 + shiftY + Float(k) * 0.068 + 0.22 * u * u - 0.05 * u
                if abs(y - y0) < 0.012 { canvas[p] += 0.09 * m }
                _ = side
            }
        }
        // Mediastinum and heart (cardiomegaly widens the heart: cardiothoracic ratio above 0.5).
        let heartWidth: Float = f.cardiomegaly ? 0.19 + 0.025 * Float(f.severity) : 0.125
        forEachPixel { p, x, y in
            let med = PhantomRenderer.inside(abs(x - 0.5 - shiftX) / 0.06, softness: 0.3) * (y > 0.08 && y < 0.62 + shiftY ? 1 : 0)
            let heart = PhantomRenderer.inside(ellipse(x, y, 0.54, 0.63, heartWidth, 0.12), softness: 0.12)
            let density = max(med * 0.68, heart * 0.74)
            canvas[p] = max(canvas[p], density)
        }
        // Clavicles.
        forEachPixel { p, x, y in
            for (x0, y0, x1, y1) in [(Float(0.18), Float(0.17), Float(0.46), Float(0.2)), (0.82, 0.17, 0.54, 0.2)] {
                let t = max(0, min(1, ((x - x0) * (x1 - x0) + (y - y0) * (y1 - y0)) / ((x1 - x0) * (x1 - x0) + (y1 - y0) * (y1 - y0))))
                let px = x0 + t * (x1 - x0) + shiftX, py = y0 + t * (y1 - y0) + shiftY
                let d = ((x - px) * (x - px) + (y - py) * (y - py)).squareRoot()
                if d < 0.013 { canvas[p] = max(canvas[p], 0.72) }
            }
        }
        drawFindings(f)
        // Noise and exposure.
        let gain = rng.uniform(0.92, 1.08), offset = rng.uniform(-0.03, 0.03)
        return canvas.map { v in
            let noisy = (v + 0.018 * rng.normal()) * gain + offset
            return UInt8(max(0, min(255, (noisy * 255).rounded())))
        }
    }

    mutating func drawFindings(_ f: PhantomFindings) {
        let severity = Float(f.severity)
        if let e = f.effusion {
            // Fluid fills the costophrenic recess with a meniscus rising laterally; the angle is blunted.
            let sides: [Float] = e == .bilateral ? [-1, 1] : [e == .right ? -1 : 1]
            forEachPixel { p, x, y in
                let (m, which) = lung(x, y)
                guard m > 0, sides.contains(which) else { return }
                let lateral = abs(x - 0.5 - shiftX)
                let level = dome(x) - 0.07 - 0.04 * severity - 0.35 * max(0, lateral - 0.15)
                if y > level { canvas[p] = max(canvas[p], 0.66 * min(1, (y - level) / 0.015)) }
            }
        }
        if let c = f.consolidation {
            let cx: Float = c.side == .right ? 0.31 : 0.69
            let cy: Float = c.upper ? 0.33 : 0.58
            let r: Float = 0.06 + 0.015 * severity
            forEachPixel { p, x, y in
                let (m, _) = lung(x, y)
                guard m > 0 else { return }
                let d = ellipse(x, y, cx, cy, r, r * 0.8)
                canvas[p] += 0.36 * m * exp(-d * d * 1.6)
            }
        }
        for _ in 0..<f.nodules {
            let right = rng.uniform() < 0.5
            let cx = right ? rng.uniform(0.22, 0.38) : rng.uniform(0.63, 0.77), cy = rng.uniform(0.25, 0.62)
            let r = rng.uniform(0.012, 0.022)
            forEachPixel { p, x, y in
                let d = ((x - cx - shiftX) * (x - cx - shiftX) + (y - cy - shiftY) * (y - cy - shiftY)).squareRoot()
                if d < r + 0.004 { canvas[p] += 0.42 * PhantomRenderer.inside(d / r, softness: 0.35) }
            }
        }
        if let a = f.atelectasis {
            // Plate-like atelectasis: a thin, slightly tilted linear opacity in a lower zone.
            let cx: Float = a == .right ? 0.3 : 0.7
            forEachPixel { p, x, y in
                let (m, _) = lung(x, y)
                guard m > 0, abs(x - cx - shiftX) < 0.1 else { return }
                let line = 0.6 + shiftY + 0.12 * (x - cx - shiftX)
                if abs(y - line) < 0.009 { canvas[p] += 0.28 * m }
            }
        }
        if f.edema {
            // Bilateral perihilar haze.
            forEachPixel { p, x, y in
                let (m, _) = lung(x, y)
                guard m > 0 else { return }
                for hx in [Float(0.4), 0.6] {
                    let dx = x - hx - shiftX, dy = y - 0.47 - shiftY
                    canvas[p] += 0.2 * m * exp(-(dx * dx + dy * dy) / 0.012)
                }
            }
        }
        if f.supportDevices {
            // An endotracheal tube down the midline and a central line from the right subclavian region.
            forEachPixel { p, x, y in
                if abs(x - 0.5 - shiftX) < 0.007 && y > 0.02 && y < 0.3 + shiftY { canvas[p] = 0.97 }
                let t = (x - 0.22 - shiftX) / 0.3
                if t >= 0 && t <= 1 {
                    let curve = 0.16 + shiftY + 0.22 * t * t
                    if abs(y - curve) < 0.005 { canvas[p] = 0.95 }
                }
            }
        }
    }
}
