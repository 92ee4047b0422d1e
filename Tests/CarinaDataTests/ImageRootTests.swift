// A manifest row may not read files outside the dataset's root unless asked (`carina prepare
// --allow-outside-root`, PrepareOptions.imageRoot nil): an absolute path, a '..' path or a symbolic link
// leading out is an error naming the manifest, the row and the path, and no error prints what such a file
// holds. Regression tests of issue 11. Not for: missing or damaged images inside the root (ImporterErrorTests).

import Foundation
import Testing
@testable import CarinaData

/// A dataset folder `data` (img/0.png and a manifest) beside a folder `secret` holding a file that is not an image.
private struct OutsideFixture {
    let dir: TemporaryDirectory
    var data: String { dir.file("data") }
    var secret: String { dir.file("secret/shadow") }
    var manifest: String { dir.file("data/manifest.csv") }
    static let secretText = "root:$6$SECRET-HASH:19000:0:99999:7:::\n"

    init() throws {
        dir = try TemporaryDirectory("image-root")
        try dir.write(try testImage(width: 12, height: 10).encodePNG(), to: "data/img/0.png")
        try dir.write(Self.secretText, to: "secret/shadow")
    }

    /// Prepare with row 2 naming `image`; the error it stops with ("" if none).
    func prepare(_ image: String, root: String?) throws -> String {
        try dir.write("id,image,report\ns0,img/0.png,Clear.\ns1,\(image),Clear.\n", to: "data/manifest.csv")
        var options = PrepareOptions()
        options.imageRoot = root
        let out = try TemporaryDirectory("image-root-out")
        defer { out.remove() }
        do {
            _ = try Prepare.run(ManifestImporter(manifest: manifest, format: .csv), into: out.path, options: options)
            return ""
        } catch {
            let text = "\(error)"
            #expect(!text.contains("SECRET") && !text.contains("72 6F 6F 74") && !text.contains("root:"), "the error shows the file's content: \(text)")
            return text
        }
    }
}

@Suite struct ImageRootTests {
    @Test func anAbsolutePathOutsideTheRootNeedsTheOption() throws {
        let f = try OutsideFixture()
        defer { f.dir.remove() }
        #expect(try f.prepare(f.secret, root: f.data)
                == "\(f.manifest), row 2 (line 3), column 'image': image path \(f.secret) is outside --root \(f.data); pass --allow-outside-root to read images outside it")
        // Allowed, it is read and refused as what it is, without its bytes.
        #expect(try f.prepare(f.secret, root: nil)
                == "\(f.manifest), row 2 (line 3), column 'image': image \(f.secret): not a PNG or JPEG file (it does not start with either signature)")
    }

    @Test func aDotDotPathOutsideTheRootIsRefused() throws {
        let f = try OutsideFixture()
        defer { f.dir.remove() }
        #expect(try f.prepare("../secret/shadow", root: f.data).contains("image path \(f.data)/../secret/shadow is outside --root \(f.data)"))
        #expect(try f.prepare("img/../../secret/shadow", root: f.data).contains("is outside --root"))
        #expect(try f.prepare("./img/../img/0.png", root: f.data) == "", "a '..' that stays inside is fine")
    }

    @Test func aSymbolicLinkLeadingOutOfTheRootIsRefused() throws {
        let f = try OutsideFixture()
        defer { f.dir.remove() }
        try FileManager.default.createSymbolicLink(atPath: f.data + "/img/1.png", withDestinationPath: f.secret)
        #expect(try f.prepare("img/1.png", root: f.data)
                == "\(f.manifest), row 2 (line 3), column 'image': image path \(f.data)/img/1.png leads through a symbolic link to \(f.secret), outside --root \(f.data); pass --allow-outside-root to read images outside it")
        // A folder link leading out: even a file that is not there is reported as outside, not as missing.
        try FileManager.default.createSymbolicLink(atPath: f.data + "/img/out", withDestinationPath: f.dir.file("secret"))
        #expect(try f.prepare("img/out/absent.png", root: f.data).contains("leads through a symbolic link to \(f.dir.file("secret")), outside --root"))
        // A link that stays inside the root is fine.
        try FileManager.default.createSymbolicLink(atPath: f.data + "/img/2.png", withDestinationPath: "0.png")
        #expect(try f.prepare("img/2.png", root: f.data) == "")
    }
}
