// Importers on small dataset trees each test builds in a temporary folder (images made with Image.encodePNG
// and encodeJPEG): IU X-ray XML, MIMIC-CXR-JPG, CheXpert, VinDr-CXR 16-bit PNGs, generic CSV and JSONL.
// Not for: the real files (RealDatasetImportTests, LabelFileImportTests) or bad inputs (ImporterErrorTests).

import Foundation
import Testing
@testable import CarinaData

func openIXML(id: String, findings: String, impression: String, mesh: [String], images: [String]) -> String {
    """
    <?xml version="1.0" encoding="utf-8"?>
    <eCitation>
      <meta type="rr"/>
      <uId id="\(id)"/>
      <MedlineCitation Owner="Indiana University" Status="supplied">
        <Article PubModel="Electronic">
          <Abstract>
            <AbstractText Label="COMPARISON">None.</AbstractText>
            <AbstractText Label="INDICATION">Cough &amp; fever</AbstractText>
            <AbstractText Label="FINDINGS">\(findings)</AbstractText>
            <AbstractText Label="IMPRESSION">\(impression)</AbstractText>
          </Abstract>
        </Article>
      </MedlineCitation>
      <MeSH>\(mesh.map { "<major>\($0)</major>" }.joined())<minor>ignored/minor</minor></MeSH>
      \(images.map { "<parentImage id=\"\($0)\"><figureId>F1</figureId><caption>Xray</caption></parentImage>" }.joined(separator: "\n  "))
    </eCitation>
    """
}

@Suite struct ImporterFixtureTests {
    @Test func iuXMLReportsBecomeOneSamplePerImage() throws {
        let dir = try TemporaryDirectory("iu-xml")
        defer { dir.remove() }
        try dir.write(openIXML(id: "CXR1", findings: "Heart size normal.\n   Lungs are clear.", impression: "Normal chest.",
                               mesh: ["normal"], images: ["CXR1_1_IM-0001-3001", "CXR1_1_IM-0001-4001"]), to: "ecgen-radiology/1.xml")
        try dir.write(openIXML(id: "CXR2", findings: "", impression: "Borderline cardiomegaly &lt; 2 cm.",
                               mesh: ["Cardiomegaly/borderline", "Opacity/lung/base/left"], images: ["CXR2_IM-0652-1001"]), to: "ecgen-radiology/2.xml")
        var images = [String: Image]()
        for (i, id) in ["CXR1_1_IM-0001-3001", "CXR1_1_IM-0001-4001", "CXR2_IM-0652-1001"].enumerated() {
            images[id] = try testImage(width: 30, height: 24, seed: i)
            try dir.write(try images[id]!.encodePNG(), to: "NLMCXR_png/\(id).png")
        }
        let samples = try IUXrayImporter(root: dir.path).samples().map { try $0.get() }
        #expect(samples.map(\.key) == ["iu_CXR1_1_IM-0001-3001", "iu_CXR1_1_IM-0001-4001", "iu_CXR2_IM-0652-1001"])
        #expect(samples[0].report == "FINDINGS: Heart size normal. Lungs are clear. IMPRESSION: Normal chest.")
        #expect(samples[2].report == "IMPRESSION: Borderline cardiomegaly < 2 cm.")
        #expect(samples[0].labels == ["Cardiomegaly": 0, "Opacity": 0] && samples[2].labels == ["Cardiomegaly": 1, "Opacity": 1])
        #expect(samples.map(\.patientID) == ["CXR1", "CXR1", "CXR2"])
        for sample in samples { #expect(sample.image == images[String(sample.key.dropFirst(3))]) }
    }

    @Test func mimicTreeGivesStudyLabelsReportsSplitsAndFilters() throws {
        let dir = try TemporaryDirectory("mimic")
        defer { dir.remove() }
        let header = "dicom_id,subject_id,study_id,PerformedProcedureStepDescription,ViewPosition,Rows,Columns"
        let rows = [("d1-aaaa", "10000032", "50414267", "PA"), ("d2-bbbb", "10000032", "50414267", "LATERAL"),
                    ("d3-cccc", "11000011", "51000001", "AP"), ("d4-dddd", "12000012", "52000002", "PA")]
        try dir.write(([header] + rows.map { "\($0.0),\($0.1),\($0.2),CHEST (PA AND LAT),\($0.3),32,40" }).joined(separator: "\n") + "\n",
                      to: "mimic-cxr-2.0.0-metadata.csv")
        try dir.write("subject_id,study_id," + CheXpertImporter.findings.joined(separator: ",") + "\n"
                      + "10000032,50414267,1.0" + String(repeating: ",", count: 13) + "\n"
                      + "11000011,51000001,,,-1.0,,,1.0,,,,,0.0,,,\n", to: "mimic-cxr-2.0.0-chexpert.csv")
        try dir.write("dicom_id,study_id,subject_id,split\nd1-aaaa,50414267,10000032,train\nd2-bbbb,50414267,10000032,train\n"
                      + "d3-cccc,51000001,11000011,validate\nd4-dddd,52000002,12000012,test\n", to: "mimic-cxr-2.0.0-split.csv")
        let reports = [
            "p10/p10000032/s50414267.txt": "                                 FINAL REPORT\n EXAMINATION:  CHEST (PA AND LAT)\n\n INDICATION:  Cough.\n\n FINDINGS:\n\n There is no focal consolidation.  No pleural effusion.\n\n IMPRESSION:\n\n No acute cardiopulmonary process.\n",
            "p11/p11000011/s51000001.txt": "FINAL REPORT\n IMPRESSION: Mild pulmonary edema.\n",
            "p12/p12000012/s52000002.txt": "FINAL REPORT\n FINDINGS: Lines and tubes as before. Heart is enlarged. Small effusion.\n IMPRESSION: Cardiomegaly.\n",
        ]
        for (path, text) in reports { try dir.write(text, to: "files/" + path) }
        var images = [String: Image]()
        for (i, row) in rows.enumerated() {
            let image = try testImage(width: 40, height: 32, seed: i)
            let jpeg = try image.encodeJPEG(quality: 90)
            images[row.0] = try Image.decode(data: jpeg, source: "fixture")
            try dir.write(jpeg, to: "files/p\(row.1.prefix(2))/p\(row.1)/s\(row.2)/\(row.0).jpg")
        }
        let all = try MIMICCXRImporter(root: dir.path).samples().map { try $0.get() }
        #expect(all.map(\.key) == ["mimic_p10000032_s50414267_d1-aaaa", "mimic_p10000032_s50414267_d2-bbbb",
                                   "mimic_p11000011_s51000001_d3-cccc", "mimic_p12000012_s52000002_d4-dddd"])
        #expect(all[0].report == "FINDINGS: There is no focal consolidation. No pleural effusion. IMPRESSION: No acute cardiopulmonary process.")
        #expect(all[0].labels == ["No Finding": 1] && all[1].labels == all[0].labels && all[3].labels == [:])
        #expect(all[2].labels == ["Cardiomegaly": -1, "Edema": 1, "Pleural Effusion": 0])
        #expect(try MIMICCXRImporter(root: dir.path, uncertainty: .ones).records().map { try $0.get() }[2].labels["Cardiomegaly"] == 1)
        #expect(all.map { $0.metadata["split"] } == ["train", "train", "valid", "test"])
        #expect(all.map(\.patientID) == ["10000032", "10000032", "11000011", "12000012"])
        for (sample, row) in zip(all, rows) { #expect(sample.image == images[row.0]) }

        let frontal = try MIMICCXRImporter(root: dir.path, frontalOnly: true).records().map { try $0.get().key }
        #expect(frontal == [all[0].key, all[2].key, all[3].key])
        let long = try MIMICCXRImporter(root: dir.path, reports: ReportRules(minimumSentences: 3)).records().map { try $0.get().key }
        #expect(long == [all[0].key, all[1].key, all[3].key])

        let out = try TemporaryDirectory("mimic-shards")
        defer { out.remove() }
        let manifest = try Prepare.run(MIMICCXRImporter(root: dir.path), into: out.path, options: PrepareOptions()).manifest
        #expect(manifest.splits == ["train": [0, 1], "valid": [2], "test": [3]])
        #expect(manifest.classNames == CheXpertImporter.findings)
    }

    @Test func chexpertJPEGsResolveFromTheCSVFolder() throws {
        let dir = try TemporaryDirectory("chexpert-tree")
        defer { dir.remove() }
        let header = "Path,Sex,Age,Frontal/Lateral,AP/PA," + CheXpertImporter.findings.joined(separator: ",")
        try dir.write(header + "\nCheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg,Female,68,Frontal,AP,1.0,,,,,,,,,0.0,,,,1.0\n",
                      to: "CheXpert-v1.0-small/train.csv")
        try dir.write(header + "\nCheXpert-v1.0-small/valid/patient64541/study1/view1_frontal.jpg,Male,73,Frontal,AP,0.0,1.0,1.0,1.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0\n",
                      to: "CheXpert-v1.0-small/valid.csv")
        for (i, path) in ["train/patient00001/study1/view1_frontal.jpg", "valid/patient64541/study1/view1_frontal.jpg"].enumerated() {
            try dir.write(try testImage(width: 32, height: 32, seed: i).encodeJPEG(), to: "CheXpert-v1.0-small/" + path)
        }
        let samples = try CheXpertImporter(root: dir.path).samples().map { try $0.get() }
        #expect(samples.map { $0.metadata["split"] } == ["train", "valid"])
        #expect(samples[1].labels.count == 14 && samples[1].labels["Cardiomegaly"] == 1 && samples[1].patientID == "patient64541")
    }

    @Test func chexpertFrontalOnlyLeavesOutLateralViews() throws {
        let dir = try TemporaryDirectory("chexpert-views")
        defer { dir.remove() }
        let header = "Path,Sex,Age,Frontal/Lateral,AP/PA," + CheXpertImporter.findings.joined(separator: ",")
        let labels = ",1.0" + String(repeating: ",", count: CheXpertImporter.findings.count - 1)
        let views = [("patient00001/study1/view1_frontal.jpg", "Frontal", "AP"), ("patient00001/study1/view2_lateral.jpg", "Lateral", ""),
                     ("patient00002/study1/view1_frontal.jpg", "Frontal", "PA"), ("patient00002/study1/view2_lateral.jpg", "Lateral", "")]
        try dir.write(header + "\n" + views.map { "CheXpert-v1.0-small/train/\($0.0),Female,60,\($0.1),\($0.2)" + labels }.joined(separator: "\n") + "\n",
                      to: "CheXpert-v1.0-small/train.csv")
        for (i, view) in views.enumerated() {
            try dir.write(try testImage(width: 24, height: 24, seed: i).encodeJPEG(), to: "CheXpert-v1.0-small/train/" + view.0)
        }
        let all = try CheXpertImporter(root: dir.path).records().map { try $0.get() }
        let frontal = try CheXpertImporter(root: dir.path, frontalOnly: true).records().map { try $0.get() }
        #expect(all.count == 4)
        #expect(frontal.map(\.key) == [all[0].key, all[2].key] && frontal.allSatisfy { $0.metadata["frontal_lateral"] == "Frontal" })
        let out = try TemporaryDirectory("chexpert-frontal-shards")
        defer { out.remove() }
        let manifest = try Prepare.run(CheXpertImporter(root: dir.path, frontalOnly: true), into: out.path, options: PrepareOptions()).manifest
        #expect(manifest.sampleCount == 2)
    }

    @Test func vindrSixteenBitPNGsKeepTheirDepthInShards() throws {
        let dir = try TemporaryDirectory("vindr-tree")
        defer { dir.remove() }
        try dir.write("""
            image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max
            img1,Cardiomegaly,3,R8,10.0,20.0,30.0,40.0
            img1,No finding,14,R9,,,,
            img2,No finding,14,R8,,,,
            img1,Aortic enlargement,0,R10,1.0,2.0,3.0,4.0
            """, to: "train.csv")
        var images = [String: Image]()
        for (i, id) in ["img1", "img2"].enumerated() {
            images[id] = try testImage(width: 48, height: 40, sixteenBit: true, seed: i)
            try dir.write(try images[id]!.encodePNG(), to: "train/\(id).png")
        }
        let out = try TemporaryDirectory("vindr-shards")
        defer { out.remove() }
        var options = PrepareOptions()
        options.imageSize = .shortSide(20)
        _ = try Prepare.run(VinDrCXRImporter(root: dir.path), into: out.path, options: options)
        let dataset = try ShardDataset(directory: out.path)
        #expect(dataset.classNames == ["Aortic enlargement", "Cardiomegaly"])
        let first = try dataset.sample(at: 0)
        #expect(first.labels == ["Aortic enlargement": 1, "Cardiomegaly": 1] && first.metadata["radiologists"] == "R10|R8|R9")
        #expect(first.metadata["boxes"] == "Cardiomegaly|R8|10.0|20.0|30.0|40.0;Aortic enlargement|R10|1.0|2.0|3.0|4.0")
        let resized = try images["img1"]!.resized(.shortSide(20))
        #expect(first.image.bitDepth == 16 && first.image == resized)
        #expect(try dataset.sample(at: 1).labels == ["Aortic enlargement": 0, "Cardiomegaly": 0])
    }

    @Test func csvManifestWithQuotedNewlinesCRLFAndBOM() throws {
        let dir = try TemporaryDirectory("csv-manifest")
        defer { dir.remove() }
        for i in 0..<3 { try dir.write(try testImage(width: 16, height: 16, seed: i).encodePNG(), to: "img/\(i).png") }
        let text = "\u{FEFF}image,report,labels,patient_id,site\r\n"
            + "img/0.png,\"FINDINGS: Clear.\r\nIMPRESSION: \"\"Normal\"\", no change.\",,p1,A\r\n"
            + "img/1.png,Effusion on the left.,Effusion|Edema,p2,B\r\n"
            + "img/2.png,\"Edema, mild.\",Edema,p2,\r\n"
        try dir.write(text, to: "manifest.csv")
        let records = try ManifestImporter(manifest: dir.file("manifest.csv"), format: .csv).records().map { try $0.get() }
        #expect(records.map(\.key) == ["img-0", "img-1", "img-2"])
        #expect(records[0].report == "FINDINGS: Clear.\r\nIMPRESSION: \"Normal\", no change.")
        #expect(records[0].labels == ["Edema": 0, "Effusion": 0] && records[1].labels == ["Edema": 1, "Effusion": 1])
        #expect(records[0].metadata == ["site": "A"] && records[2].metadata == [:] && records[2].patientID == "p2")
        #expect(records[1].record == "row 2 (line 4)")
        let samples = try ManifestImporter(manifest: dir.file("manifest.csv"), format: .csv).samples().map { try $0.get() }
        #expect(samples[2].image == (try testImage(width: 16, height: 16, seed: 2)))
    }

    @Test func csvLabelColumnsAndJSONLines() throws {
        let dir = try TemporaryDirectory("csv-columns")
        defer { dir.remove() }
        for i in 0..<2 { try dir.write(try testImage(width: 8, height: 8, seed: i).encodePNG(), to: "\(i).png") }
        try dir.write("id,image,text,Edema,Effusion,split\na,0.png,Some text.,1,-1.0,train\nb,1.png,More text.,,0,validate\n", to: "m.csv")
        let csv = try ManifestImporter(manifest: dir.file("m.csv"), format: .csv, labelColumns: ["Edema", "Effusion"], uncertainty: .zeros)
            .records().map { try $0.get() }
        #expect(csv.map(\.labels) == [["Edema": 1, "Effusion": 0], ["Effusion": 0]])
        #expect(csv.map { $0.metadata["split"] } == ["train", "valid"] && csv.map(\.key) == ["a", "b"])
        try dir.write("""
            {"id": "a", "image": "0.png", "report": "Clear lungs.", "labels": ["Edema"], "patient_id": 7, "age": 61}

            {"id": "b", "image": "1.png", "report": "Small effusion.", "labels": {"Effusion": 1, "Edema": 0}}
            """, to: "m.jsonl")
        let jsonl = try ManifestImporter(manifest: dir.file("m.jsonl"), format: .jsonl, classes: ["Effusion", "Edema"])
            .records().map { try $0.get() }
        #expect(jsonl.map(\.labels) == [["Edema": 1, "Effusion": 0], ["Edema": 0, "Effusion": 1]])
        #expect(jsonl[0].patientID == "7" && jsonl[0].metadata == ["age": "61"] && jsonl[1].record == "line 3")
        let out = try TemporaryDirectory("jsonl-shards")
        defer { out.remove() }
        let manifest = try Prepare.run(ManifestImporter(manifest: dir.file("m.jsonl"), format: .jsonl, classes: ["Effusion", "Edema"]),
                                       into: out.path, options: PrepareOptions()).manifest
        #expect(manifest.classNames == ["Effusion", "Edema"] && manifest.layout == "jsonl")
    }

    @Test func nihOfficialListsDecideTestAndTrainvalIsDividedByPatient() throws {
        let dir = try TemporaryDirectory("nih-lists")
        defer { dir.remove() }
        var lines = ["Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position"]
        for i in 0..<40 {
            let name = String(format: "%08d_000.png", i)
            lines.append("\(name),\(i % 3 == 0 ? "No Finding" : "Mass|Edema"),0,\(i / 2),50,F,PA")
            try dir.write(try testImage(width: 8, height: 8, seed: i).encodePNG(), to: "images_00\(1 + i % 2)/images/\(name)")
        }
        try dir.write(lines.joined(separator: "\n"), to: "Data_Entry_2017_v2020.csv")
        try dir.write((0..<30).map { String(format: "%08d_000.png", $0) }.joined(separator: "\n") + "\n", to: "train_val_list.txt")
        try dir.write((30..<40).map { String(format: "%08d_000.png", $0) }.joined(separator: "\n"), to: "test_list.txt")
        let out = try TemporaryDirectory("nih-lists-out")
        defer { out.remove() }
        let manifest = try Prepare.run(NIHChestXray14Importer(root: dir.path), into: out.path, options: PrepareOptions()).manifest
        #expect(manifest.splits["test"] == Array(30..<40))
        #expect(Set(manifest.splits["train"]! + manifest.splits["valid"]!) == Set(0..<30) && !manifest.splits["valid"]!.isEmpty)
        for i in stride(from: 0, to: 30, by: 2) {  // images 2k and 2k+1 share patient k
            #expect(manifest.splits["train"]!.contains(i) == manifest.splits["train"]!.contains(i + 1))
        }
        let dataset = try ShardDataset(directory: out.path)
        #expect(try dataset.sample(at: 1).labels == ["Atelectasis": 0, "Cardiomegaly": 0, "Effusion": 0, "Infiltration": 0, "Mass": 1, "Nodule": 0,
                                                     "Pneumonia": 0, "Pneumothorax": 0, "Consolidation": 0, "Edema": 1, "Emphysema": 0,
                                                     "Fibrosis": 0, "Pleural_Thickening": 0, "Hernia": 0])
        #expect(try dataset.sample(at: 31).image == (try testImage(width: 8, height: 8, seed: 31)))
        #expect(try dataset.sample(at: 5).metadata == ["split": "trainval", "view": "PA", "age": "50", "sex": "F", "follow_up": "0"])
    }

    @Test func datasetWithNoUsableSampleIsAnError() throws {
        let dir = try TemporaryDirectory("none-usable")
        defer { dir.remove() }
        try dir.write("image,report\nmissing.png,Some report.\n", to: "m.csv")
        var options = PrepareOptions()
        options.skipBadSamples = true
        let error = #expect(throws: DataError.self) {
            try Prepare.run(ManifestImporter(manifest: dir.file("m.csv"), format: .csv), into: dir.path + "/out", options: options)
        }
        #expect(String(describing: error!).contains("no sample could be imported (1 skipped, the first: \(dir.file("m.csv")), row 1 (line 2), column 'image'"))
    }
}
