"""Single-image camera calibration (vertical fov, pitch, roll; SPEC's CamCalib task): network and target
encoding (``model``), views and label-consistent augmentation (``data``), targets and image transforms
(``geometry``), errors (``metrics``), training and evaluation (``task``) and ``synth train|evaluate camera``
(``cli``). Importing this package does not import torch."""
