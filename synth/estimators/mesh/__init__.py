"""3D body mesh from a person crop (HMR / BEDLAM-CLIFF style, Anny bodies): network, rotations, Anny layer and
loss (``model``), people with 3D targets and their crops (``data``), MPJPE / PA-MPJPE / PVE (``metrics``),
training and evaluation (``task``) and ``synth train|evaluate mesh`` (``cli``). Importing this package does not
import torch."""
