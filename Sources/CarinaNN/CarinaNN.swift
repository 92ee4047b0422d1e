// Layers, losses and optimizers.
@_exported import CarinaTensor
