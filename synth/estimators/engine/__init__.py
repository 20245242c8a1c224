"""What every bundled estimator shares: the MobileNetV2 backbone (``backbone``), the one training loop
(``fit``: schedule, time budget, optimiser step, per-epoch checkpoint and records), the checkpoint format
(``checkpoint``), person crops and augmentation (``crops``), dataset access through ``synth.io``
(``datasets``), JSON records (``records``) and the options every ``synth train`` / ``synth evaluate`` task
shares (``options``). Importing this package does not import torch.
"""
