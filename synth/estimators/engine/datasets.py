"""Dataset access shared by the estimators, only through ``synth.io``: opening dataset folders with clear
errors, and the rule that decides which labelled people are worth a crop."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from synth.core.errors import SynthError
from synth.estimators.engine.errors import EstimatorError

#: The COCO body keypoints (the first 17 of every synth keypoint set).
NUM_BODY_KEYPOINTS = 17


def dataset_paths(data) -> list[str]:
    """One dataset folder or a list of them -> list of str paths."""
    return [str(data)] if isinstance(data, (str, os.PathLike)) else [str(p) for p in data]


def open_dataset_folder(path: str, verify: bool = False):
    """``synth.io.open_dataset(path)``; EstimatorError (with the fix) for a missing or unreadable folder."""
    from synth.io import open_dataset

    if not os.path.isdir(str(path)):
        raise EstimatorError(f"{path}: no such dataset folder; expected the OUT folder written by "
                             "'synth generate RECIPE --out OUT' (with manifest.json and shards/). Fix: check "
                             "the path (--data / --val) or generate the dataset first")
    try:
        return open_dataset(str(path), verify=verify)
    except SynthError as err:
        raise EstimatorError(f"{path}: cannot open the dataset ({err}). Fix: pass the OUT folder of a finished "
                             "'synth generate' run") from None


def kept_person_box(labels: dict, p: int, keypoint_index: np.ndarray | None = None, *, min_keypoints: int = 1,
                    min_area_px: float = 64.0) -> np.ndarray | None:
    """(4,) float32 amodal box of person ``p`` of a view's ``labels`` when the person is worth a crop, else None.

    Kept: a finite, non-empty box, at least ``min_keypoints`` of the keypoints ``keypoint_index`` (default the
    17 COCO body points) in the image, and at least ``min_area_px`` visible pixels (COCO annotates people one
    can see; OKS divides by this area).
    """
    box = np.asarray(labels["bbox_xyxy"][p], np.float32)
    if not np.all(np.isfinite(box)) or box[2] <= box[0] or box[3] <= box[1]:
        return None
    sel = slice(0, NUM_BODY_KEYPOINTS) if keypoint_index is None else keypoint_index
    kp = np.asarray(labels["keypoints_2d"][p][sel], np.float32)
    in_img = np.asarray(labels["keypoints_in_image"][p][sel], bool) & np.all(np.isfinite(kp), axis=-1)
    if in_img.sum() < min_keypoints or float(labels["mask_area_px"][p]) < min_area_px:
        return None
    return box


def nobody_error(paths: list[str], *, min_keypoints: int, min_area_px: float, people_seen: int, views: int,
                 note: str = "") -> EstimatorError:
    """The error for datasets that hold nobody to train or evaluate on."""
    return EstimatorError(f"{paths}: no person with a box, >= {min_keypoints} keypoints in the image and >= "
                          f"{min_area_px:g} visible pixels among {people_seen} people in {views} views{note}; "
                          "generate more scenes or bigger images")


@dataclass
class PersonRef:
    """Where one labelled person is: view image ``image_index`` of the loaded images, scene, frame, view name,
    person index in the frame; ``bbox_xyxy`` (4,) float32 px amodal box (pixel edges), ``area_px`` the visible
    mask area in pixels. Each task's instance type adds its own fields."""

    image_index: int
    scene_id: str
    frame_index: int
    view: str
    person: int
    bbox_xyxy: np.ndarray
    area_px: float


class PersonScan:
    """One pass over dataset folder(s) that keeps the people worth a crop (``kept_person_box``), with the decoded
    image of every view that has one (shared by its people) and the counts an error message needs.

        scan = PersonScan(data, min_keypoints=3)
        for path, frame in scan.frames():
            for p, box, ref in scan.kept_people(frame):
                ...
        if not instances: raise scan.nobody_error()

    ``pinhole_only`` skips (and counts in ``skipped_views``) views of other camera models.
    """

    def __init__(self, data, *, min_keypoints: int = 1, min_area_px: float = 64.0, verify: bool = False,
                 pinhole_only: bool = False):
        self.paths = dataset_paths(data)
        self.min_keypoints = min_keypoints
        self.min_area_px = min_area_px
        self.verify = verify
        self.pinhole_only = pinhole_only
        self.images: list[np.ndarray] = []
        self.views = 0
        self.people_seen = 0
        self.skipped_views: Counter[str] = Counter()

    def frames(self) -> Iterator[tuple[str, object]]:
        """(dataset path, ``synth.io`` Frame) of every view read (counted in ``views`` and ``people_seen``)."""
        for path in self.paths:
            for frame in open_dataset_folder(path, self.verify):
                if self.pinhole_only and frame.camera.model_name != "pinhole":
                    self.skipped_views[frame.camera.model_name] += 1
                    continue
                self.views += 1
                self.people_seen += int(frame.labels["bbox_xyxy"].shape[0])
                yield path, frame

    def kept_people(self, frame, keypoint_index: np.ndarray | None = None) -> list[tuple[int, np.ndarray, PersonRef]]:
        """(person index, box, PersonRef) of the people of ``frame`` worth a crop; keeps the frame's image when
        there is one."""
        lab = frame.labels
        image_index = len(self.images)
        out = []
        for p in range(lab["bbox_xyxy"].shape[0]):
            box = kept_person_box(lab, p, keypoint_index, min_keypoints=self.min_keypoints,
                                  min_area_px=self.min_area_px)
            if box is not None:
                out.append((p, box, PersonRef(image_index, frame.scene_id, frame.frame_index, frame.view, p, box,
                                               float(lab["mask_area_px"][p]))))
        if out:
            self.images.append(np.ascontiguousarray(frame.rgb))
        return out

    def nobody_error(self, note: str = "") -> EstimatorError:
        """The error for datasets that hold nobody to train or evaluate on."""
        if self.pinhole_only:
            note = (f" (pinhole views; skipped views: {dict(self.skipped_views) or 'none'}; this estimator needs a "
                    f"pinhole camera){note}")
        return nobody_error(self.paths, min_keypoints=self.min_keypoints, min_area_px=self.min_area_px,
                            people_seen=self.people_seen, views=self.views, note=note)
