// Writes the radiology report of a synthetic study from its findings: FINDINGS and IMPRESSION sections in
// the style of MIMIC-CXR, with synonyms, negations ("no pleural effusion"), laterality and severity, so a
// model has to read the report rather than match one string. Not for: choosing findings or drawing.
import CarinaTensor

enum PhantomReport {
    static func pick(_ options: [String], _ rng: inout RNG) -> String { options[rng.int(options.count)] }

    static func sideWord(_ s: Side) -> String { s.rawValue }

    static func severityWord(_ severity: Int, _ rng: inout RNG) -> String {
        [["small", "trace", "mild"], ["moderate", "moderate-sized"], ["large", "substantial"]][severity][rng.int(severity == 1 ? 2 : severity == 0 ? 3 : 2)]
    }

    static func write(_ f: PhantomFindings, _ rng: inout RNG) -> String {
        var findings: [String] = []
        var impression: [String] = []
        if f.supportDevices {
            findings.append(pick(["Endotracheal tube terminates above the carina. Right internal jugular central venous catheter tip in the SVC.",
                                  "Support devices are observed: an endotracheal tube and a right central line.",
                                  "Support devices in place: endotracheal tube and a right-sided central line.",
                                  "ET tube and right central venous line are in standard position."], &rng))
            impression.append(pick(["Lines and tubes in standard position.", "Support devices as described."], &rng))
        }
        if f.cardiomegaly {
            let adj = f.severity == 2 ? "markedly " : f.severity == 1 ? "moderately " : "mildly "
            findings.append(pick(["The heart is \(adj)enlarged.", "Cardiomegaly is present.", "Cardiomegaly is observed.", "The cardiac silhouette is \(adj)enlarged.",
                                  "\(adj.capitalized)enlarged cardiac silhouette."], &rng))
            impression.append(pick(["Cardiomegaly.", "Enlarged heart."], &rng))
        } else {
            findings.append(pick(["Heart size is normal.", "The cardiac silhouette is within normal limits.", "Normal heart size.",
                                  "Cardiomediastinal silhouette is unremarkable.", "No cardiomegaly."], &rng))
        }
        if f.edema {
            findings.append(pick(["There is perihilar haziness with vascular congestion, consistent with pulmonary edema.", "Edema is observed in both perihilar regions.",
                                  "Bilateral perihilar opacities compatible with interstitial edema.",
                                  "Pulmonary vascular congestion and edema."], &rng))
            impression.append(pick(["Pulmonary edema.", "Findings consistent with edema."], &rng))
        }
        if let e = f.effusion {
            let size = severityWord(f.severity, &rng)
            let phrase = e == .bilateral ? "\(size) bilateral pleural effusions" : "\(size) \(sideWord(e)) pleural effusion"
            findings.append(pick(["There is a \(phrase).", "\(phrase.prefix(1).uppercased() + phrase.dropFirst()) with blunting of the costophrenic angle.",
                                  "A \(phrase) is seen.", "Pleural effusion is observed: \(phrase)."], &rng).replacingOccurrences(of: "a large", with: "a large")
                            .replacingOccurrences(of: "There is a \(size) bilateral", with: "There are \(size) bilateral"))
            impression.append(e == .bilateral ? "Bilateral pleural effusions." : "\(sideWord(e).capitalized) pleural effusion.")
        }
        if let p = f.pneumothorax {
            findings.append(pick(["There is a \(sideWord(p)) apical pneumothorax.", "Pneumothorax is observed at the \(sideWord(p)) apex.", "A \(sideWord(p)) pneumothorax is present with a visible pleural line.",
                                  "\(sideWord(p).capitalized) pneumothorax."], &rng))
            impression.append("\(sideWord(p).capitalized) pneumothorax.")
        }
        if let c = f.consolidation {
            let zone = c.upper ? "upper" : "lower"
            findings.append(pick(["Focal consolidation in the \(sideWord(c.side)) \(zone) lobe.", "Consolidation is observed in the \(sideWord(c.side)) \(zone) lobe.", "There is an airspace opacity in the \(sideWord(c.side)) \(zone) lung, concerning for pneumonia.",
                                  "\(sideWord(c.side).capitalized) \(zone) lobe consolidation."], &rng))
            impression.append(pick(["\(sideWord(c.side).capitalized) \(zone) lobe consolidation, likely pneumonia.", "Consolidation in the \(sideWord(c.side)) \(zone) lobe."], &rng))
        }
        if f.nodules > 0 {
            let n = f.nodules == 1 ? "a small pulmonary nodule" : "\(["", "", "two", "three"][f.nodules]) small pulmonary nodules"
            findings.append(pick(["There \(f.nodules == 1 ? "is" : "are") \(n).", "Incidental finding of \(n).", "Nodule is observed: \(n).", "\(n.prefix(1).uppercased() + n.dropFirst()) noted."], &rng))
            impression.append(pick(["Pulmonary nodule; recommend follow-up CT.", "Nodular opacities, follow-up advised."], &rng))
        }
        if let a = f.atelectasis {
            findings.append(pick(["Plate-like atelectasis at the \(sideWord(a)) lung base.", "Atelectasis is observed at the \(sideWord(a)) base.", "Linear opacity in the \(sideWord(a)) lower lung, likely atelectasis.",
                                  "\(sideWord(a).capitalized) basilar atelectasis."], &rng))
            impression.append("\(sideWord(a).capitalized) basilar atelectasis.")
        }
        // Negatives a radiologist would state, as MIMIC-CXR reports do: the commonly excluded findings, in any
        // order, said one per sentence ("No pleural effusion.") or together ("No effusion, pneumothorax or
        // consolidation."), so a negation binds to its finding wherever it stands and not to a fixed slot.
        var negatives: [String] = []
        if f.effusion == nil && rng.uniform() < 0.85 { negatives.append(pick(["pleural effusion", "effusion"], &rng)) }
        if f.pneumothorax == nil && rng.uniform() < 0.85 { negatives.append("pneumothorax") }
        if f.consolidation == nil && rng.uniform() < 0.7 { negatives.append(pick(["focal consolidation", "consolidation", "airspace opacity"], &rng)) }
        if !f.edema && rng.uniform() < 0.5 { negatives.append(pick(["pulmonary edema", "edema"], &rng)) }
        if f.atelectasis == nil && rng.uniform() < 0.25 { negatives.append("atelectasis") }
        if f.nodules == 0 && rng.uniform() < 0.25 { negatives.append(pick(["pulmonary nodules", "suspicious nodule"], &rng)) }
        for i in stride(from: negatives.count - 1, to: 0, by: -1) { negatives.swapAt(i, rng.int(i + 1)) }
        while !negatives.isEmpty {
            // The next 1 to all of the remaining negatives as one sentence.
            let n = rng.uniform() < 0.5 ? negatives.count : 1 + rng.int(negatives.count)
            let group = Array(negatives.prefix(n))
            negatives.removeFirst(n)
            let list = group.count == 1 ? group[0] : group.dropLast().joined(separator: ", ") + " or " + group.last!
            findings.append(pick(["There is no \(list).", "No \(list).", "No evidence of \(list)."], &rng))
        }
        if rng.uniform() < 0.4 { findings.append(pick(["The osseous structures are intact.", "No acute osseous abnormality.", "Bones are unremarkable."], &rng)) }
        if impression.isEmpty {
            impression.append(pick(["No acute cardiopulmonary process.", "No acute cardiopulmonary abnormality.", "Normal chest radiograph."], &rng))
        }
        return "FINDINGS: " + findings.joined(separator: " ") + "\n\nIMPRESSION: " + impression.joined(separator: " ")
    }
}
