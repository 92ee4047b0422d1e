// Which findings a synthetic study has and how they present (side, zone, severity): drawn once per sample
// from its own random stream, then used both to draw the image and to write the report, so the two always
// agree. Not for: drawing (PhantomRenderer) or wording (PhantomReport).
import CarinaTensor

public enum Side: String, Sendable, CaseIterable {
    case right, left, bilateral
}

public struct PhantomFindings: Sendable, Equatable {
    /// The synthetic dataset's label columns, in order (CheXpert names).
    public static let classNames = ["No Finding", "Cardiomegaly", "Pleural Effusion", "Pneumothorax", "Consolidation",
                                    "Nodule", "Atelectasis", "Edema", "Support Devices"]

    public var cardiomegaly = false
    public var effusion: Side? = nil
    public var pneumothorax: Side? = nil  // right or left
    public var consolidation: (side: Side, upper: Bool)? = nil
    public var nodules = 0
    public var atelectasis: Side? = nil  // right or left
    public var edema = false
    public var supportDevices = false
    /// 0 mild, 1 moderate, 2 large: how pronounced effusion, consolidation and cardiomegaly are.
    public var severity = 0

    public static func == (a: PhantomFindings, b: PhantomFindings) -> Bool {
        a.cardiomegaly == b.cardiomegaly && a.effusion == b.effusion && a.pneumothorax == b.pneumothorax
            && a.consolidation?.side == b.consolidation?.side && a.consolidation?.upper == b.consolidation?.upper
            && a.nodules == b.nodules && a.atelectasis == b.atelectasis && a.edema == b.edema
            && a.supportDevices == b.supportDevices && a.severity == b.severity
    }

    public init() {}

    /// Draws findings with roughly `prevalence` each, with mild co-occurrence (edema with cardiomegaly
    /// and effusion, devices with the sicker patients).
    public static func draw(_ rng: inout RNG, prevalence: Float) -> PhantomFindings {
        var f = PhantomFindings()
        func side(_ g: inout RNG) -> Side { g.uniform() < 0.5 ? .right : .left }
        f.edema = rng.uniform() < prevalence * 0.7
        f.cardiomegaly = rng.uniform() < (f.edema ? 0.6 : prevalence)
        if rng.uniform() < (f.edema ? 0.6 : prevalence) { f.effusion = rng.uniform() < 0.3 ? .bilateral : side(&rng) }
        if rng.uniform() < prevalence * 0.6 { f.pneumothorax = side(&rng) }
        if rng.uniform() < prevalence { f.consolidation = (side(&rng), rng.uniform() < 0.4) }
        if rng.uniform() < prevalence * 0.8 { f.nodules = 1 + rng.int(3) }
        if rng.uniform() < prevalence * 0.8 { f.atelectasis = side(&rng) }
        let sick = f.edema || f.pneumothorax != nil || f.consolidation != nil
        f.supportDevices = rng.uniform() < (sick ? 0.45 : prevalence * 0.6)
        f.severity = rng.int(3)
        return f
    }

    public var isNormal: Bool {
        !cardiomegaly && effusion == nil && pneumothorax == nil && consolidation == nil && nodules == 0 && atelectasis == nil
            && !edema && !supportDevices
    }

    /// Label values in `classNames` order (1 present, 0 absent).
    public var labels: [String: LabelValue] {
        let present: [Bool] = [isNormal, cardiomegaly, effusion != nil, pneumothorax != nil, consolidation != nil, nodules > 0,
                               atelectasis != nil, edema, supportDevices]
        return Dictionary(uniqueKeysWithValues: zip(Self.classNames, present.map { $0 ? 1 : 0 }))
    }
}
