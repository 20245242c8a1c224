"""``synth export OUT --format F``: one entry point for every export format."""

from __future__ import annotations

from synth.core.errors import DatasetError

EXPORT_FORMATS = ("coco-wholebody", "yolo-pose", "npz")


def export_dataset(out: str, dest: str, fmt: str = "coco-wholebody", image_format: str = "png",
                   val_fraction: float | None = None, keypoints: str = "all",
                   with_vertices: bool = False) -> list[str]:
    """Export the dataset in ``out`` to ``dest`` in format ``fmt``; returns the paths of the label files.

    ``val_fraction`` (default: 0 for COCO, 0.1 otherwise) holds out that share of the scenes as a val split.
    """
    if fmt == "coco-wholebody":
        from synth.io.coco import export_coco

        return [export_coco(out, dest, image_format=image_format, val_fraction=val_fraction or 0.0)]
    if fmt == "yolo-pose":
        from synth.io.export_yolo import export_yolo_pose

        vf = 0.1 if val_fraction is None else val_fraction
        return [export_yolo_pose(out, dest, image_format=image_format, val_fraction=vf, keypoints=keypoints)]
    if fmt == "npz":
        from synth.io.export_npz import export_npz

        vf = 0.1 if val_fraction is None else val_fraction
        return export_npz(out, dest, image_format=image_format, val_fraction=vf, with_vertices=with_vertices)
    raise DatasetError(f"export --format: expected one of {list(EXPORT_FORMATS)}, got {fmt!r}")
