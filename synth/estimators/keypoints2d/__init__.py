"""Top-down 2D human keypoints: MobileNetV2 (ImageNet init) + RTMPose-style SimCC head (``model``), person
instances and crops (``data``), COCO OKS / AP, PCK, EPE (``metrics``), training and evaluation (``task``) and
``synth train|evaluate keypoints2d`` (``cli``). Importing this package does not import torch."""
