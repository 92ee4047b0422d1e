// A run directory's checkpoints: the newest K and every N-th step are kept, `latest` names the newest,
// resume falls back past damaged files saying which and why, temporary files are never taken for
// checkpoints, and a command-line PATH resolves to the file it means. Not for: the file format.
import CarinaCheckpoint
import CarinaTensor
import Foundation
import Testing

@Suite struct CheckpointStoreTests {
    func names(_ paths: [String]) -> [String] { paths.map { ($0 as NSString).lastPathComponent } }

    @Test func keepsTheNewestAndEveryNthStep() throws {
        let dir = try temporaryDirectory()
        let store = try CheckpointStore(directory: dir, keepLast: 2, keepEvery: 10)
        for step in [5, 10, 15, 20, 25, 30, 35] { try store.save(randomContents(step: step), step: step) }
        #expect(names(store.list()) == ["step-00000035.ckpt", "step-00000030.ckpt", "step-00000020.ckpt", "step-00000010.ckpt"])
        #expect(try String(contentsOfFile: dir + "/latest", encoding: .utf8) == "step-00000035.ckpt\n")
        #expect(store.latestPointer == dir + "/step-00000035.ckpt")
        let found = try #require(try store.latestValid())
        #expect(found.path == dir + "/step-00000035.ckpt" && found.skipped.isEmpty && identical(found.contents, randomContents(step: 35)))
    }

    @Test func theCheckpointJustSavedIsKeptOverAHigherStep() throws {
        // Resumed from step 20 because 25 was damaged: with keepLast 1, saving step 21 keeps 21, not 25.
        let dir = try temporaryDirectory()
        let store = try CheckpointStore(directory: dir, keepLast: 1)
        try store.save(randomContents(step: 25), step: 25)
        try store.save(randomContents(step: 21), step: 21)
        #expect(names(store.list()) == ["step-00000021.ckpt"])
        #expect(try store.latestValid()?.contents.state.step == 21)
    }

    @Test func resumeFallsBackPastDamageAndSaysWhy() throws {
        let dir = try temporaryDirectory()
        let store = try CheckpointStore(directory: dir, keepLast: 4)
        for step in [10, 20, 30, 40] { try store.save(randomContents(step: step), step: step) }
        let paths = store.list()  // 40, 30, 20, 10
        let newest = try Data(contentsOf: URL(fileURLWithPath: paths[0]))
        try newest.prefix(newest.count - 100).write(to: URL(fileURLWithPath: paths[0]))
        try newest.flipping(newest.count - 3).write(to: URL(fileURLWithPath: paths[1]))  // 30 now holds 40's bytes, damaged
        try FileManager.default.removeItem(atPath: paths[2])
        try FileManager.default.createDirectory(atPath: paths[2], withIntermediateDirectories: false)  // not a file
        let found = try #require(try store.latestValid())
        #expect(found.path == paths[3] && identical(found.contents, randomContents(step: 10)))
        #expect(found.skipped.map(\.path) == Array(paths[0..<3]))
        #expect(found.skipped[0].reason.hasPrefix("checkpoint \(paths[0]): truncated: "), "\(found.skipped[0].reason)")
        #expect(found.skipped[1].reason.hasPrefix("checkpoint \(paths[1]): tensor 'exp_avg_sq.encoder.weight' is corrupt: "), "\(found.skipped[1].reason)")
        #expect(found.skipped[2].reason == "checkpoint \(paths[2]): unreadable: not a regular file (a directory)")
    }

    @Test func aBadLatestPointerIsReportedAndPassedOver() throws {
        let dir = try temporaryDirectory()
        let store = try CheckpointStore(directory: dir)
        try store.save(randomContents(step: 1), step: 1)
        try "step-00000099.ckpt\n".write(toFile: dir + "/latest", atomically: false, encoding: .utf8)
        var found = try #require(try store.latestValid())
        #expect(found.contents.state.step == 1 && found.skipped.map(\.path) == [dir + "/step-00000099.ckpt"])
        #expect(found.skipped[0].reason.contains("unreadable: No such file or directory"))
        try "../elsewhere/step-00000001.ckpt".write(toFile: dir + "/latest", atomically: false, encoding: .utf8)
        found = try #require(try store.latestValid())
        #expect(found.contents.state.step == 1 && found.skipped.map(\.path) == [dir + "/latest"])
        #expect(found.skipped[0].reason.contains("does not hold a checkpoint file name"))
    }

    @Test func temporaryFilesAreNeverCheckpointsAndDeadWritersAreCleanedUp() throws {
        let dir = try temporaryDirectory()
        let store = try CheckpointStore(directory: dir)
        try store.save(randomContents(step: 1), step: 1)
        // A complete, valid file under a temporary name (killed just before its rename) must not be taken.
        try FileManager.default.copyItem(atPath: dir + "/step-00000001.ckpt", toPath: dir + "/.step-00000002.ckpt.tmp-999999")
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/.latest.tmp-999998"))
        #expect(names(store.list()) == ["step-00000001.ckpt"])
        #expect(try store.latestValid()?.contents.state.step == 1)
        try store.save(randomContents(step: 3), step: 3)  // pid 999999 and 999998 do not run: their files go
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["latest", "step-00000001.ckpt", "step-00000003.ckpt"])
    }

    @Test func emptyDirectoryHasNoCheckpoint() throws {
        let store = try CheckpointStore(directory: try temporaryDirectory() + "/run/checkpoints")
        #expect(try store.latestValid() == nil && store.list().isEmpty && store.latestPointer == nil)
    }

    @Test func aCommandLinePathResolvesToTheCheckpointItMeans() throws {
        let run = try temporaryDirectory()
        let store = try CheckpointStore(directory: run + "/checkpoints")
        try store.save(randomContents(step: 4), step: 4)
        try store.save(randomContents(step: 8), step: 8)
        let newest = run + "/checkpoints/step-00000008.ckpt"
        for path in [run, run + "/checkpoints", run + "/checkpoints/latest", newest] {
            #expect(try CheckpointStore.resolve(path) == newest, "\(path)")
        }
        #expect(try CheckpointStore.resolve(run + "/checkpoints/step-00000004.ckpt") == run + "/checkpoints/step-00000004.ckpt")
        let empty = try temporaryDirectory()
        #expect(errorText { _ = try CheckpointStore.resolve(empty) }?.contains("a directory without checkpoints") == true)
        #expect(errorText { _ = try CheckpointStore.resolve(empty + "/nothing") }?.contains("no such file or directory") == true)
    }
}
