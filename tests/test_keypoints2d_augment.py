"""Keypoint-model training inputs on constructed images: crops around the tight visible box move the labels
with the pixels (flips and rotations included), the camera-like degradations leave every pixel where it was,
and frozen backbone blocks stay exactly as ImageNet left them (weights and batch-norm statistics)."""

from __future__ import annotations

import numpy as np
import pytest

from synth.estimators.engine.crops import Augmentation, sample_degradation
from synth.estimators.keypoints2d.data import (KEYPOINT_AUGMENTATION, PersonInstance, PersonInstances,
                                               TopDownKeypointDataset, select_keypoints)


def _dots_image(rng: np.random.Generator, k: int = 17, size: int = 240):
    """A black image with one 5x5 white square per keypoint (centres on integer pixels) inside a box."""
    img = np.zeros((size, size, 3), np.uint8)
    kp = np.stack([rng.integers(70, 170, k), rng.integers(40, 200, k)], -1).astype(np.float32)
    for x, y in kp.astype(int):
        img[y - 2:y + 3, x - 2:x + 3] = 255
    return img, kp


def _instances(img, kp, amodal, visible):
    names, _ = select_keypoints(17)
    inst = PersonInstance(image_index=0, scene_id="s", frame_index=0, view="main", person=0,
                          bbox_xyxy=np.asarray(amodal, np.float32), area_px=1000.0, keypoints=kp,
                          flags=np.full(len(kp), 2, np.int8), bbox_visible_xyxy=np.asarray(visible, np.float32))
    return PersonInstances([img], [inst], names, ["test"], 1, 1)


@pytest.mark.parametrize("visible_box_prob", [0.0, 1.0])
def test_crop_labels_follow_the_pixels(visible_box_prob):
    """Every keypoint label inside the crop sits on its white square, whichever box the crop was cut from."""
    rng = np.random.default_rng(0)
    img, kp = _dots_image(rng)
    # amodal box much larger than the visible one: the two crops differ a lot
    data = _instances(img, kp, [10, 5, 230, 235], [62, 30, 178, 210])
    names, flip_index = select_keypoints(17)
    aug = Augmentation(color_prob=0.0)
    ds = TopDownKeypointDataset(data, (128, 96), flip_index, train=True, augmentation=aug,
                                visible_box_prob=visible_box_prob, seed=3)
    scales = []
    checked = 0
    for epoch in range(12):
        ds.set_epoch(epoch)
        item = ds[0]
        crop = item["image"].astype(np.float32).mean(-1)
        scales.append(np.hypot(*item["affine"][:, 0]))
        for (x, y), w in zip(item["keypoints"], item["weights"]):
            xi, yi = int(round(x)), int(round(y))
            if w == 0 or not (1 <= xi < 95 and 1 <= yi < 127):
                continue
            assert crop[yi, xi] > 100, (epoch, x, y, crop[yi - 1:yi + 2, xi - 1:xi + 2])
            checked += 1
    assert checked > 100
    # plain crop scales: 128 / (1.25 x 180) = 0.57 around the visible box, 96 / (1.25 x 220) = 0.35 around the amodal one
    assert (np.median(scales) > 0.45) == (visible_box_prob == 1.0)


def test_degradations_keep_pixels_in_place():
    rng = np.random.default_rng(1)
    img = np.zeros((64, 48, 3), np.uint8)
    img[20:29, 10:19] = (250, 30, 30)       # a red square, centre (14, 24)
    every = Augmentation(blur_prob=1.0, noise_prob=1.0, jpeg_prob=1.0, gray_prob=1.0)
    out = sample_degradation(img, every, rng=rng)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.ptp(out.astype(int), axis=-1).max() == 0          # grayscale: equal channels
    w = np.clip(out[..., 0].astype(np.float64) - 20.0, 0, None)
    ys, xs = np.mgrid[:64, :48]
    cx, cy = (w * xs).sum() / w.sum(), (w * ys).sum() / w.sum()
    assert abs(cx - 14.0) < 0.5 and abs(cy - 24.0) < 0.5
    assert not np.array_equal(out, sample_degradation(img, every, rng=np.random.default_rng(2)))
    none = Augmentation()
    assert not none.degrades and KEYPOINT_AUGMENTATION.degrades
    assert np.array_equal(sample_degradation(img, none, rng=rng), img)


def test_frozen_blocks_stay_at_imagenet():
    import torch

    from synth.estimators.keypoints2d.model import Keypoints2DConfig, default_sigma_bins, kl_discrete_loss, \
        make_simcc_targets, SimCCPoseNet

    names, flip_index = select_keypoints(17)
    cfg = Keypoints2DConfig(keypoint_names=names, input_hw=(64, 64), sigma_bins=default_sigma_bins((64, 64)),
                            pretrained="none", flip_index=flip_index.tolist(), frozen_blocks=3)
    torch.manual_seed(0)
    net = SimCCPoseNet(cfg)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.1)
    net.train()
    x = torch.randint(0, 255, (4, 64, 64, 3), dtype=torch.uint8)
    kp = torch.rand(4, 17, 2) * 60
    tx, ty = make_simcc_targets(kp, (64, 64), cfg.split_ratio, cfg.sigma_bins)
    lx, ly = net(net.normalize(x))
    kl_discrete_loss(lx, ly, tx, ty, torch.ones(4, 17)).backward()
    opt.step()
    after = net.state_dict()
    frozen = [k for k in before if k.startswith("backbone.features.") and int(k.split(".")[2]) < 3]
    trained = [k for k in before if k.startswith("backbone.features.") and int(k.split(".")[2]) >= 3]
    assert frozen and all(torch.equal(before[k], after[k]) for k in frozen)          # weights and BN stats
    assert any(not torch.equal(before[k], after[k]) for k in trained if "running_mean" in k)
    assert any(not torch.equal(before[k], after[k]) for k in trained if k.endswith("weight"))
