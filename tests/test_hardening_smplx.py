"""SMPL-X model files are read without pickle: a crafted file's payload never runs. ``.pkl`` files load only
with an explicit opt-in. Children with SMPL-X are a validation error (no kid template support yet)."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("smplx")

from synth.bodies.smplx_model import PICKLE_OPT_IN_ENV, SmplxBody, read_model_arrays  # noqa: E402
from synth.core.errors import AssetError, RecipeError  # noqa: E402
from synth.recipe import parse_recipe  # noqa: E402

from test_bodies_smplx import write_fake_smplx_npz  # noqa: E402 - tests/ is on sys.path under pytest


class _Payload:
    """Unpickling this creates ``marker``: proof that the file's code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _pickle_bytes(marker: Path) -> bytes:
    return pickle.dumps({"v_template": _Payload(marker)}, protocol=2)


def _npz_with_object_array(path: Path, marker: Path) -> None:
    """A real zip .npz whose member is an object array (numpy stores those as a pickle)."""
    arr = np.empty(1, dtype=object)
    arr[0] = _Payload(marker)
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("v_template.npy", buf.getvalue())


@pytest.fixture(autouse=True)
def _no_opt_in(monkeypatch):
    monkeypatch.delenv(PICKLE_OPT_IN_ENV, raising=False)


def test_pickle_renamed_npz_never_runs(tmp_path):
    marker = tmp_path / "PWNED"
    model = tmp_path / "SMPLX_NEUTRAL.npz"
    model.write_bytes(_pickle_bytes(marker))
    with pytest.raises(AssetError, match="not an .npz \\(zip\\) archive"):
        SmplxBody(tmp_path)
    with pytest.raises(AssetError):
        read_model_arrays(model)
    assert not marker.exists()


def test_object_array_in_npz_never_runs(tmp_path):
    marker = tmp_path / "PWNED"
    model = tmp_path / "SMPLX_NEUTRAL.npz"
    _npz_with_object_array(model, marker)
    with pytest.raises(AssetError, match="'v_template' is not a plain array"):
        SmplxBody(tmp_path)
    assert not marker.exists()
    # the face-landmark reader refuses it as well
    from synth.bodies.wholebody import load_smplx_face68

    with pytest.raises(AssetError):
        load_smplx_face68(model, 10)
    assert not marker.exists()


def test_pkl_needs_the_opt_in(tmp_path, monkeypatch):
    marker = tmp_path / "PWNED"
    model = tmp_path / "SMPLX_NEUTRAL.pkl"
    model.write_bytes(_pickle_bytes(marker))
    for where in (tmp_path, model):
        with pytest.raises(AssetError, match=PICKLE_OPT_IN_ENV):
            SmplxBody(where)
    assert not marker.exists()
    # with the opt-in the same file is unpickled: that is what the flag's name says
    monkeypatch.setenv(PICKLE_OPT_IN_ENV, "1")
    with pytest.raises(Exception):
        SmplxBody(model)
    assert marker.exists()


def test_trusted_pkl_loads_with_the_opt_in_and_matches_the_npz(tmp_path):
    npz = tmp_path / "npz" / "SMPLX_NEUTRAL.npz"
    npz.parent.mkdir()
    write_fake_smplx_npz(npz)
    pkl = tmp_path / "pkl" / "SMPLX_NEUTRAL.pkl"
    pkl.parent.mkdir()
    with np.load(npz) as data:
        pkl.write_bytes(pickle.dumps({k: data[k] for k in data.files}))
    a = SmplxBody(npz.parent, keypoint_set="wholebody")
    b = SmplxBody(pkl.parent, keypoint_set="wholebody", allow_pickle_code_execution=True)
    assert b.model_path == pkl
    pa = a.forward(a.default_params(a.mean_shape()))
    pb = b.forward(b.default_params(b.mean_shape()))
    assert np.array_equal(pa.vertices, pb.vertices) and np.array_equal(pa.keypoints, pb.keypoints)


def test_smplx_children_fail_validation(tmp_path):
    d = {"schema_version": 1, "scenes": 1, "image": {"width": 64, "height": 48},
         "people": {"body_model": "smplx", "shape": {"child_fraction": 0.5}}}
    with pytest.raises(RecipeError, match="child_fraction: 0.5 asks for children"):
        parse_recipe(d)
    d["people"]["body_model"] = "anny"
    assert parse_recipe(d).people.shape.child_fraction == 0.5
