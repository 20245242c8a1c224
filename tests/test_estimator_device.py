"""``--device auto|cpu|cuda`` of the bundled estimators: the resolution, the one-line error for ``cuda`` without a
GPU (before any data is read), and that a checkpoint stores CPU tensors and its device. A CPU training run that
records its device is checked in ``tests/test_estimator_contact.py``."""

from __future__ import annotations

import pytest

from synth.estimators import EstimatorError

torch = pytest.importorskip("torch")
no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")


def test_resolve_device_names():
    from synth.estimators.engine.device import resolve_device

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device(None) == resolve_device("auto")
    with pytest.raises(EstimatorError, match="--device 'tpu': expected one of auto, cpu, cuda"):
        resolve_device("tpu")


@no_gpu
def test_cuda_without_a_gpu_is_one_clear_line():
    from synth.estimators.engine.device import resolve_device

    with pytest.raises(EstimatorError) as err:
        resolve_device("cuda")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("--device cuda: ") and "use --device cpu" in msg
    assert "NVIDIA GPU" in msg


@no_gpu
@pytest.mark.parametrize("argv", [
    ["train", "contact", "--data", "/nonexistent/data", "--out", "/nonexistent/run"],
    ["train", "mesh", "--data", "/nonexistent/data", "--out", "/nonexistent/run"],
    ["train", "camera", "--data", "/nonexistent/data", "--out", "/nonexistent/run"],
    ["train", "keypoints2d", "--data", "/nonexistent/data", "--out", "/nonexistent/run"],
    ["evaluate", "contact", "--model", "/nonexistent/model.pt", "--data", "/nonexistent/data"],
    ["predict", "contact", "--model", "/nonexistent/model.pt", "/nonexistent/images", "--out", "/nonexistent/o"],
])
def test_every_command_refuses_cuda_without_a_gpu_before_reading_anything(argv, capsys):
    from synth.cli import main

    assert main(argv + ["--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert "--device cuda" in err and "no such" not in err


def test_a_checkpoint_holds_cpu_tensors_and_loads_onto_the_asked_device(tmp_path):
    from synth.estimators.camera_calib.model import CameraCalibConfig, CameraCalibNet
    from synth.estimators.camera_calib.task import CHECKPOINT, load_checkpoint

    model = CameraCalibNet(CameraCalibConfig(input_size=64, pretrained="none"))
    CHECKPOINT.save(str(tmp_path / "model.pt"), model, {"seed": 0, "device": {"device": "cpu"}})
    raw = torch.load(tmp_path / "model.pt", map_location="cpu", weights_only=True)
    assert raw["device"] == {"device": "cpu"}
    again, meta = load_checkpoint(str(tmp_path / "model.pt"), "cpu")
    assert all(p.device.type == "cpu" for p in again.parameters()) and not again.training
    assert meta["device"] == {"device": "cpu"} and "state_dict" not in meta
    for k, v in model.state_dict().items():
        assert torch.equal(v, again.state_dict()[k]), k


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_model_on_the_gpu_saves_a_checkpoint_that_loads_on_the_cpu(tmp_path):
    from synth.estimators.camera_calib.model import CameraCalibConfig, CameraCalibNet
    from synth.estimators.camera_calib.task import CHECKPOINT, load_checkpoint
    from synth.estimators.engine.device import device_record, resolve_device

    assert resolve_device("auto") == "cuda" and device_record("cuda")["device_name"] != "cpu"
    model = CameraCalibNet(CameraCalibConfig(input_size=64, pretrained="none")).to("cuda").eval()
    x = torch.randint(0, 255, (2, 64, 64, 3), dtype=torch.uint8)
    with torch.no_grad():
        on_gpu = model(model.normalize(x)).cpu()          # normalize moves the CPU input to the model's device
    CHECKPOINT.save(str(tmp_path / "model.pt"), model, {"seed": 0})
    raw = torch.load(tmp_path / "model.pt", weights_only=True)   # no map_location: the tensors were saved on the CPU
    assert all(v.device.type == "cpu" for v in raw["state_dict"].values())
    again, _ = load_checkpoint(str(tmp_path / "model.pt"), "cpu")
    with torch.no_grad():
        assert torch.allclose(again(again.normalize(x)), on_gpu, atol=1e-4)
