"""synth.io.torch on a real rendered dataset: frames, person crops, collate, workers, ranks, fsspec URLs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_dataset_util import N_FRAMES, N_SCENES, N_VIEWS, tiny_wholebody_dataset
from torch.utils.data import DataLoader

from synth.core.errors import DatasetError
from synth.io import open_dataset
from synth.io.torch import FrameDataset, PersonCropDataset, collate

pytestmark = pytest.mark.blender


@pytest.fixture(scope="module")
def ds_dir(tmp_path_factory) -> Path:
    return tiny_wholebody_dataset(tmp_path_factory)


def _tag_pid(sample: dict) -> dict:
    sample["worker_pid"] = os.getpid()
    return sample


class TinyKeypointNet(torch.nn.Module):
    """Crop -> 17 body keypoints in crop pixels."""

    def __init__(self, k: int = 17):
        super().__init__()
        self.k = k
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(8, 16, 3, stride=2, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1))
        self.head = torch.nn.Linear(16, k * 2)

    def forward(self, x):
        return self.head(self.features(x).flatten(1)).view(-1, self.k, 2)


def _loss(model, batch):
    target = batch["keypoints_2d"][:, :17] / 64.0
    ok = batch["keypoints_in_crop"][:, :17]
    err = (model(batch["image"]) - torch.nan_to_num(target)).abs().sum(-1)
    return (err * ok).sum() / ok.sum().clamp(min=1)


def test_train_two_steps_through_dataloader_with_two_workers(ds_dir):
    ds = PersonCropDataset(str(ds_dir), crop_size=(64, 48), fields=("image", "keypoints"), transform=_tag_pid)
    n_people = sum(int((f.labels["mask_area_px"] > 0).sum()) for f in open_dataset(str(ds_dir)))
    assert len(ds) == n_people and len(ds) >= N_SCENES * N_FRAMES * N_VIEWS
    loader = DataLoader(ds, batch_size=4, shuffle=True, num_workers=2, collate_fn=collate,
                        generator=torch.Generator().manual_seed(0), persistent_workers=False)
    torch.manual_seed(0)
    model = TinyKeypointNet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    before = [p.detach().clone() for p in model.parameters()]
    batches, losses = [], []
    for step, batch in enumerate(loader):
        assert batch["image"].shape == (4, 3, 64, 48) and batch["image"].dtype == torch.float32
        assert batch["keypoints_2d"].shape == (4, 133, 2)
        loss = _loss(model, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        batches.append(batch)
        losses.append(float(loss.detach()))
        if step == 1:
            break
    assert len(losses) == 2 and all(np.isfinite(losses))
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    with torch.no_grad():
        assert float(_loss(model, batches[0])) < losses[0]  # the two steps learned something on the first batch
    # every sample was read in a worker process; the main process never opened a shard
    pids = {int(p) for b in batches for p in b["worker_pid"]}
    assert len(pids) == 2 and os.getpid() not in pids
    assert ds._handles == {}


def test_frames_match_the_reader_and_collate_pads_people(ds_dir):
    fields = ("image", "instance", "depth", "camera", "keypoints", "joints", "boxes", "body", "vertices", "contact")
    ds = FrameDataset(str(ds_dir), fields=fields)
    frames = list(open_dataset(str(ds_dir)))
    assert len(ds) == len(frames) == N_SCENES * N_FRAMES * N_VIEWS
    for i, f in enumerate(frames):
        s = ds[i]
        assert (s["scene_id"], s["frame_index"], s["view"]) == (f.scene_id, f.frame_index, f.view)
        assert torch.equal(s["image"], torch.from_numpy(f.rgb).permute(2, 0, 1).float() / 255)
        assert np.array_equal(s["instance"].numpy(), f.instance)
        assert np.array_equal(s["depth_m"].numpy(), f.depth_m)
        assert np.allclose(s["K"].numpy(), f.camera.K) and s["camera_model"] == f.camera.model_name
        for name in ("keypoints_2d", "keypoints_visible", "joints_3d_cam", "bbox_xyxy", "mask_area_px"):
            assert np.array_equal(s[name].numpy(), f.labels[name], equal_nan=True), name
        assert s["num_people"] == len(f.people)
        for p, person in enumerate(f.people):
            assert np.array_equal(s["pose_rotvec"][p].numpy(), person["pose_rotvec"])
            assert np.array_equal(s["vertices_world"][p].numpy(), person["vertices_world"])
            assert np.array_equal(s["contact_ground"][p].numpy(), person["contact_ground"])
            assert float(s["shape"]["age_years"][p]) == pytest.approx(float(person["shape"]["age_years"]))
    counts = [len(f.people) for f in frames]
    assert min(counts) == 1 and max(counts) == 2  # the recipe draws 1-2 people; the padding below needs both
    i1, i2 = counts.index(1), counts.index(2)
    b = collate([ds[i1], ds[i2]])
    assert b["person_valid"].tolist() == [[True, False], [True, True]]
    assert b["keypoints_2d"].shape == (2, 2, 133, 2) and torch.isnan(b["keypoints_2d"][0, 1]).all()
    assert not b["keypoints_visible"][0, 1].any() and b["shape"]["age_years"].shape == (2, 2)
    assert b["image"].shape == (2, 3, 64, 64) and b["view"] == [frames[i1].view, frames[i2].view]


def test_person_crops_put_labels_on_the_person(ds_dir):
    ds = PersonCropDataset(str(ds_dir), crop_size=(96, 72), fields=("image", "instance", "camera", "keypoints"),
                           views=["main"])
    assert {ds[i]["camera_model"] for i in range(len(ds))} == {"pinhole"}
    on_mask = []
    for i in range(len(ds)):
        s = ds[i]
        uv, vis = s["keypoints_2d"].numpy(), s["keypoints_visible"].numpy() & s["keypoints_in_crop"].numpy()
        mask = s["mask"].numpy()
        assert mask.shape == (96, 72) and mask.any()
        ui, vi = np.rint(uv[vis, 0]).astype(int), np.rint(uv[vis, 1]).astype(int)
        near = np.zeros(len(ui), bool)
        for dv in range(-2, 3):  # the crop upsamples ~2x: the 1-pixel rule of the render becomes ~2 px
            for du in range(-2, 3):
                near |= mask[np.clip(vi + dv, 0, 95), np.clip(ui + du, 0, 71)]
        on_mask += near.tolist()
        # K_crop projects the camera-frame keypoints onto the crop keypoints (pinhole, no distortion)
        X = s["keypoints_3d_cam"].numpy().astype(np.float64)
        proj = (s["K_crop"].numpy() @ (X / X[:, 2:3]).T).T[:, :2]
        assert np.allclose(proj, uv, atol=1e-3)
    assert len(on_mask) > 50 and np.mean(on_mask) > 0.97


def test_ranks_read_disjoint_whole_shards_of_equal_length(ds_dir):
    full = FrameDataset(str(ds_dir), fields=("keypoints",))
    parts = [FrameDataset(str(ds_dir), fields=("keypoints",), rank=r, world_size=2) for r in range(2)]
    assert len(parts[0]) == len(parts[1]) > 0
    scenes = [{p[i]["scene_id"] for i in range(len(p))} for p in parts]
    assert not scenes[0] & scenes[1]
    assert scenes[0] | scenes[1] <= {full[i]["scene_id"] for i in range(len(full))}
    with pytest.raises(DatasetError, match="world_size: 3 ranks but the dataset has 2 shard"):
        FrameDataset(str(ds_dir), rank=0, world_size=3)
    with pytest.raises(DatasetError, match="give both"):
        FrameDataset(str(ds_dir), rank=0)
    with pytest.raises(DatasetError, match="unknown field 'keypoints_3d'"):
        FrameDataset(str(ds_dir), fields=("image", "keypoints_3d"))
    with pytest.raises(DatasetError, match="views: none of"):
        FrameDataset(str(ds_dir), views=["nope"])


def test_reads_a_dataset_through_an_fsspec_url(ds_dir):
    import fsspec

    mem = fsspec.filesystem("memory")
    for path in sorted(Path(ds_dir).rglob("*")):
        if path.is_file() and ".tmp" not in path.parts:
            mem.pipe_file(f"/remote-ds/{path.relative_to(ds_dir)}", path.read_bytes())
    try:
        remote = PersonCropDataset("memory://remote-ds", crop_size=(32, 24), fields=("image", "keypoints", "body"))
        local = PersonCropDataset(str(ds_dir), crop_size=(32, 24), fields=("image", "keypoints", "body"))
        assert len(remote) == len(local) > 0
        for i in (0, len(local) - 1):
            a, b = remote[i], local[i]
            assert torch.equal(a["image"], b["image"]) and torch.equal(a["pose_rotvec"], b["pose_rotvec"])
            assert torch.equal(a["keypoints_2d"], b["keypoints_2d"])
    finally:
        mem.rm("/remote-ds", recursive=True)


def test_warp_affine_matches_opencv():
    """The crop resampler follows OpenCV's convention (integer coordinates at pixel centres)."""
    cv2 = pytest.importorskip("cv2")
    from synth.io.torch import warp_affine

    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, (20, 30, 3)).astype(np.float32)
    c, s = np.cos(0.3), np.sin(0.3)
    for A in (np.array([[1.7, 0.0, -3.2], [0.0, 1.7, 4.1]]), np.array([[1.3 * c, -1.3 * s, 6.0], [1.3 * s, 1.3 * c, -2.5]])):
        ours = warp_affine(img, A, (40, 36))
        theirs = cv2.warpAffine(img, A, (36, 40), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        # OpenCV rounds its interpolation weights to 1/32: up to ~255/32 on this noise, ~1 on average; a half-pixel
        # shift of the convention gives ~16 on average
        err = np.abs(ours - theirs)
        assert err.max() < 255 / 32 and err.mean() < 1.0
        nearest = warp_affine(img, A, (40, 36), nearest=True)
        inside = (theirs > 0).all(-1)
        assert np.abs(nearest - theirs)[inside].mean() < 40  # nearest vs bilinear: same place, coarser values
