"""Dense per-vertex body-scene contact from a person crop (DECO / BSTRO style): network and loss (``model``),
people with contact labels and their crops (``data``), rest mesh, mirror correspondence and geodesic distances
(``geometry``), precision / recall / F1 and geodesic errors (``metrics``), training and evaluation (``task``) and
``synth train|evaluate contact`` (``cli``). Importing this package does not import torch."""
