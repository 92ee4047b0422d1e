// One Open-I (IU X-ray) report XML file read with XMLParser: its id, the AbstractText sections (FINDINGS,
// IMPRESSION ...), MeSH major terms and the parentImage ids of its radiographs.
// Not for: turning reports into samples (IUXrayImporter).

import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

struct OpenIReport: Equatable {
    var id = ""
    var sections = [String: String]()
    var meshMajor = [String]()
    var images = [String]()

    /// "FINDINGS: ... IMPRESSION: ..." (sections present only), as reports.csv writes the report.
    var report: String {
        ["FINDINGS", "IMPRESSION"].compactMap { name in
            sections[name].map { ReportRules.normalizeWhitespace($0) }.flatMap { $0.isEmpty ? nil : "\(name): \($0)" }
        }.joined(separator: " ")
    }

    /// Parses one XML file; a malformed file is an error naming it and the line.
    static func read(path: String) throws -> OpenIReport {
        let data: Data
        do {
            // Only a regular file (a named pipe would block), and no bigger than a manifest may be.
            data = Data(try FileBytes.contents(of: path, maxBytes: CompressedFile.maxBytes))
        } catch {
            throw DataError.badRecord(file: path, record: "whole file", column: nil, problem: "cannot read the report XML: \(error)")
        }
        let parser = XMLParser(data: data)
        let collector = Collector()
        parser.delegate = collector
        guard parser.parse() else {
            let reason = parser.parserError.map { "\($0.localizedDescription)" } ?? "unknown error"
            throw DataError.badRecord(file: path, record: "line \(parser.lineNumber)", column: nil, problem: "malformed XML: \(reason)")
        }
        return collector.report
    }

    private final class Collector: NSObject, XMLParserDelegate {
        var report = OpenIReport()
        private var section: String?
        private var inMajor = false
        private var text = ""

        func parser(_ parser: XMLParser, didStartElement element: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            switch element {
            case "uId": report.id = attributes["id"] ?? report.id
            case "AbstractText": section = attributes["Label"]?.uppercased(); text = ""
            case "major": inMajor = true; text = ""
            case "parentImage": if let id = attributes["id"] { report.images.append(id) }
            default: break
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if section != nil || inMajor { text += string }
        }

        func parser(_ parser: XMLParser, didEndElement element: String, namespaceURI: String?, qualifiedName: String?) {
            if element == "AbstractText", let name = section {
                report.sections[name] = text.trimmingWhitespace
                section = nil
            } else if element == "major" {
                report.meshMajor.append(text.trimmingWhitespace)
                inMajor = false
            }
        }
    }
}
