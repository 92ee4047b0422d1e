// A ViT's position table resized to another grid (M3AE starting at 288 px from a CLIP trained at 224 px):
// against PyTorch 2.13's F.interpolate(mode="bicubic", align_corners=False) on the same table, up and down.
// Reference: table[i] = 2 sin(1.7 i), i < (1 + 3²)·2, as (10, 2); the values below were printed by torch.
import Testing
import CarinaNN

@Suite struct PositionResizeTests {
    static let table: [Float] = [0.0, 1.98332962, -0.5110822, -1.85162936, 0.9882267, 1.59697423, -1.39974938, -1.23627422, 1.71832363, 0.79348115,
                                 -1.92279498, -0.29799805, 1.9995858, -0.21727319, -1.94359689, 0.71811671, 1.75854612, -1.17127468, -1.45672154, 1.54665578]
    static let toFive: [Float] = [0.0, 1.9833296, -0.916413, -2.4784673, 0.2636488, -0.3742575, 1.2676848, 1.7788916, -0.4210218, 0.1534223, -2.0134875,
                                  -1.6329454, 0.7158792, -0.9873724, 0.1789621, -0.0067734, -0.4063063, 0.9246009, -0.1285224, -0.1080085, 0.2231847,
                                  -1.1495852, 2.067871, 0.8982631, 0.0231582, 0.364175, -1.922795, -0.2979981, 0.2155415, -0.3271809, 2.3761344,
                                  -0.2095236, -0.4086078, 1.1208481, -0.1755209, 0.0608873, 0.1205922, -0.9688814, 0.1605504, 0.0593916, 0.1298925,
                                  1.1184515, -2.7182225, 0.8996169, -0.3043533, -0.2658421, 2.1119549, -1.2551092, 0.0421709, 0.421654, -2.1629733, 2.0012188]
    static let toTwo: [Float] = [0.0, 1.9833296, 0.1649612, -0.6154065, -0.3451269, -0.4680184, -0.566291, 0.3267653, -0.1770167, 0.6135381]

    @Test func bicubicResizeIsPyTorchs() throws {
        let table = Tensor(shape: [10, 2], values: Self.table)
        for (grid, expected) in [(5, Self.toFive), (2, Self.toTwo)] {
            let resized = try ViT.resizePositionEmbedding(table, toGrid: grid)
            #expect(resized.shape == [1 + grid * grid, 2])
            for (a, b) in zip(resized.scalars, expected) { #expect(abs(a - b) < 1e-5, "grid \(grid): \(a) vs \(b)") }
        }
        #expect(try ViT.resizePositionEmbedding(table, toGrid: 3).scalars == Self.table)
        #expect(throws: TensorError.self) { try ViT.resizePositionEmbedding(Tensor.zeros([9, 2]), toGrid: 2) }  // no class row + square
        #expect(ViT.squareGrid(rows: 197) == 14 && ViT.squareGrid(rows: 196) == nil)
    }
}
