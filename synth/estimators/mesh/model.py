"""The mesh estimator's network (MobileNetV2 + CLIFF box features + HMR iterative regressor -> Anny
parameters), its rotation representation, the differentiable Anny layer and the loss; see
``synth.estimators.mesh.task`` for the whole method."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from synth.core.transforms import rotvec_to_matrix
from synth.estimators.engine.backbone import IMAGENET_MEAN_RGB, IMAGENET_STD_RGB, ImageNetBackboneNet, MobileNetV2
from synth.estimators.engine.config import ConfigRecord, check_input_size
from synth.estimators.engine.errors import EstimatorError
from synth.estimators.mesh.data import ANNY_PHENOTYPES, NUM_BODY_KEYPOINTS, NUM_FACIAL_ACTIONS, BodySpec, MeshSamples


#: The weak-perspective camera of the crop: (log scale, tx, ty) (``cam_to_translation``).
NUM_CAM = 3


@dataclass
class MeshConfig(ConfigRecord):
    """What a checkpoint needs to rebuild and use the model."""

    body_model: str = "anny"
    topology: str = "default"
    num_vertices: int = 13718
    num_joints: int = 104
    input_size: int = 128
    padding: float = 1.2
    hidden_dims: int = 512
    iterations: int = 3
    #: each iteration adds ``update_scale`` x the MLP's output: small first steps for Adam from the mean body
    update_scale: float = 0.1
    mean_rgb: tuple[float, float, float] = IMAGENET_MEAN_RGB
    std_rgb: tuple[float, float, float] = IMAGENET_STD_RGB
    pretrained: str = "imagenet"
    #: loss weights: vertices, keypoints (m), bone rotations, global rotation, phenotypes, facial actions,
    #: 2D keypoints (crop half-widths, through the predicted root translation), root translation (m)
    loss_weights: tuple[float, ...] = (1.0, 1.0, 0.1, 0.5, 0.1, 0.01, 1.0, 0.1)

    @property
    def body(self) -> BodySpec:
        return BodySpec(self.body_model, self.topology, int(self.num_vertices), int(self.num_joints))

    @property
    def num_params(self) -> int:
        """6D global orientation + 6D per bone + phenotypes + facial actions + the weak-perspective camera."""
        return 6 + 6 * self.num_joints + len(ANNY_PHENOTYPES) + NUM_FACIAL_ACTIONS + NUM_CAM



# ---------------------------------------------------------------- rotations


def rot6d_to_rotmat(x: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3, 3): Gram-Schmidt of the two columns (a1 = x[..., 0:3], a2 = x[..., 3:6])."""
    a1, a2 = x[..., 0:3], x[..., 3:6]
    b1 = F.normalize(a1, dim=-1)
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


def rotmat_to_rot6d(R: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 6): the first two columns."""
    return torch.cat([R[..., :, 0], R[..., :, 1]], dim=-1)


def chordal_mean_rotation(R: np.ndarray) -> np.ndarray:
    """(3, 3) rotation nearest (Frobenius) to the mean of (N, 3, 3) rotations (their chordal L2 mean)."""
    U, _, Vt = np.linalg.svd(np.asarray(R, np.float64).mean(axis=0))
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(U @ Vt))])
    return U @ D @ Vt


# ---------------------------------------------------------------- the body model layer


def _autograd_safe_roma() -> None:
    """roma caches a constant matrix on first use; when that was inside ``torch.inference_mode`` (AnnyBody's
    numpy forward), autograd refuses it ("Inference tensors cannot be saved for backward"). Rebuild it."""
    import roma.mappings as rm

    cache = getattr(rm, "_cached_horn_map", None)
    if cache is not None and hasattr(cache, "cache_clear"):
        cache.cache_clear()
        with torch.inference_mode(False):
            rm._horn_map(torch.device("cpu"))


def get_body(config: MeshConfig):
    """The process-wide ``AnnyBody`` of the config's topology, checked against the stored vertex count."""
    from synth.bodies.registry import get_body_model
    from synth.core.errors import SynthError

    if config.body_model != "anny":
        raise EstimatorError(f"mesh estimator: body model {config.body_model!r} is not supported; expected 'anny'")
    try:
        body = get_body_model("anny", topology=config.topology)
    except SynthError as err:
        raise EstimatorError(f"mesh estimator: cannot build Anny topology {config.topology!r} ({err})") from None
    if body.num_vertices != config.num_vertices or len(body.joint_names) != config.num_joints:
        raise EstimatorError(f"mesh estimator: Anny topology {config.topology!r} has {body.num_vertices} vertices "
                             f"and {len(body.joint_names)} joints here, the model expects {config.num_vertices} "
                             f"and {config.num_joints}; use the anny version the model was trained with")
    return body


def posed_points(body, rotmats: torch.Tensor, phenotypes: torch.Tensor, facial_actions: torch.Tensor,
                 global_rotmat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Differentiable Anny forward -> root-relative camera-frame (B, V, 3) vertices and (B, 17, 3) keypoints (m).

    rotmats : (B, J, 3, 3) local-bone rotations.  phenotypes : (B, 6) in [0, 1].  facial_actions : (B, 52).
    global_rotmat : (B, 3, 3) camera-from-native rotation. The pelvis (hips' midpoint) is the origin.
    Anny's layer runs on the CPU (its warp LBS kernel and buffers are there); the results come back on the
    inputs' device.
    """
    device = rotmats.device   # Anny's torch layer lives on the CPU; autograd follows the copies both ways
    verts, kps = body.forward_torch(rotmats.cpu(), phenotypes.cpu(), facial_actions.cpu())
    verts, kps = verts.to(device), kps[:, :NUM_BODY_KEYPOINTS].to(device)
    pelvis = 0.5 * (kps[:, 11] + kps[:, 12])
    verts = torch.einsum("bij,bvj->bvi", global_rotmat, verts - pelvis[:, None])
    kps = torch.einsum("bij,bkj->bki", global_rotmat, kps - pelvis[:, None])
    return verts, kps


# ---------------------------------------------------------------- the root translation (CLIFF)


def cam_to_translation(cam: torch.Tensor, bbox: torch.Tensor) -> torch.Tensor:
    """(B, 3) camera-frame root (pelvis) translation (m) from the crop's weak-perspective camera ``cam``
    (B, 3) = (log s, tx, ty) and CLIFF's box features ``bbox`` (B, 3) = ((cx - u0) / f, (cy - v0) / f, b / f)
    (CLIFF, Li et al. 2022): ``tz = 2 / (s b)``, ``tx + 2 (cx - u0) / (s b f)`` and the same for y, so that
    the weak-perspective crop projection ``s (X + t)`` of a pelvis-relative point X agrees to first order with
    the full-image perspective projection of ``X + T`` through the focal length f."""
    sb = (torch.exp(cam[:, 0]) * bbox[:, 2]).clamp_min(1e-6)
    return torch.stack([cam[:, 1] + 2 * bbox[:, 0] / sb, cam[:, 2] + 2 * bbox[:, 1] / sb, 2 / sb], dim=1)


def translation_to_cam(translation: np.ndarray, bbox: np.ndarray) -> np.ndarray:
    """(N, 3) (log s, tx, ty) whose ``cam_to_translation`` with ``bbox`` (N, 3) is ``translation`` (N, 3) m."""
    T, b = np.asarray(translation, np.float64), np.asarray(bbox, np.float64)
    z = np.maximum(T[:, 2], 1e-6)
    return np.stack([np.log(2.0 / (b[:, 2] * z)), T[:, 0] - b[:, 0] * z, T[:, 1] - b[:, 1] * z], axis=1)


def crop_projection(points_cam: torch.Tensor, bbox: torch.Tensor) -> torch.Tensor:
    """(B, K, 2) perspective projection of camera-frame points (B, K, 3) (m) in the crop's coordinates: the
    crop centre at 0, its edges at +-1 (``(X / Z - (cx - u0) / f) / (b / 2f)``); depth clamped at 5 cm."""
    z = points_cam[..., 2:3].clamp_min(0.05)
    return (points_cam[..., :2] / z - bbox[:, None, :2]) / (bbox[:, None, 2:3] / 2)


# ---------------------------------------------------------------- the network


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), 1e-3, 1 - 1e-3)
    return np.log(p / (1 - p))


def initial_parameters(data: MeshSamples, bbox: np.ndarray) -> np.ndarray:
    """(D,) float32 starting parameters from training targets: 6D chordal-mean global orientation and bone
    rotations, logits of the mean phenotypes and facial actions, and the mean weak-perspective camera of the
    people's plain crops (``bbox``: (N, 3) their box features; layout of ``MeshNet.split``)."""
    g = chordal_mean_rotation(data.global_rotmat)
    R = rotvec_to_matrix(data.pose_rotvec)                               # (N, J, 3, 3)
    bones = np.stack([chordal_mean_rotation(R[:, j]) for j in range(R.shape[1])])
    six = rotmat_to_rot6d(torch.from_numpy(np.concatenate([g[None], bones]))).numpy().reshape(-1)
    cam = translation_to_cam(data.pelvis_cam, bbox).mean(axis=0)
    return np.concatenate([six, _logit(data.phenotypes.mean(0)), _logit(data.facial_actions.mean(0)), cam]).astype(
        np.float32)


class MeshNet(ImageNetBackboneNet):
    """MobileNetV2 + CLIFF box features + HMR iterative regressor -> Anny parameters.

    forward(x (B, 3, S, S), bbox (B, 3)) -> dict of global_rotmat (B, 3, 3), rotmats (B, J, 3, 3),
    phenotypes (B, 6), facial_actions (B, 52), cam (B, 3) and translation (B, 3) m (``cam_to_translation``). Buffers (from the training data): ``init_params`` (D,), and the
    constant baseline's mean pelvis-relative ``baseline_keypoints`` (17, 3) and ``baseline_vertices`` (V, 3) in
    metres, in the body's own frame (each training person's camera-frame points rotated back by its
    ``global_rotmat``).
    """

    DATA_BUFFERS = ("init_params", "baseline_keypoints", "baseline_vertices")

    def __init__(self, config: MeshConfig):
        super().__init__()
        check_input_size((config.input_size, config.input_size))
        self.init_backbone(config)
        c, d, h = MobileNetV2.out_channels, config.num_params, config.hidden_dims
        self.regressor = nn.Sequential(nn.Linear(c + 3 + d, h), nn.ReLU(inplace=True), nn.Dropout(0.1),
                                       nn.Linear(h, h), nn.ReLU(inplace=True), nn.Dropout(0.1), nn.Linear(h, d))
        nn.init.zeros_(self.regressor[-1].weight)   # start at the training means
        nn.init.zeros_(self.regressor[-1].bias)
        self.register_buffer("init_params", torch.zeros(d))
        self.register_buffer("baseline_keypoints", torch.zeros(NUM_BODY_KEYPOINTS, 3))
        self.register_buffer("baseline_vertices", torch.zeros(config.num_vertices, 3))

    def split(self, params: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, D) raw parameters -> the named, decoded parameters (see the class docstring)."""
        J, B = self.config.num_joints, params.shape[0]
        n6 = 6 * (J + 1)
        six = params[:, :n6].reshape(B, J + 1, 6)
        R = rot6d_to_rotmat(six)
        n_ph = len(ANNY_PHENOTYPES)
        n_fa = n6 + n_ph + NUM_FACIAL_ACTIONS
        return {"global_rotmat": R[:, 0], "rotmats": R[:, 1:],
                "phenotypes": torch.sigmoid(params[:, n6:n6 + n_ph]),
                "facial_actions": torch.sigmoid(params[:, n6 + n_ph:n_fa]), "cam": params[:, n_fa:n_fa + NUM_CAM]}

    def forward(self, x: torch.Tensor, bbox: torch.Tensor) -> dict[str, torch.Tensor]:
        f = F.adaptive_avg_pool2d(self.backbone.forward_features(x), 1).flatten(1)   # (B, 1280)
        params = self.init_params.expand(x.shape[0], -1)
        for _ in range(self.config.iterations):
            params = params + self.config.update_scale * self.regressor(torch.cat([f, bbox, params], dim=1))
        out = self.split(params)
        out["translation"] = cam_to_translation(out["cam"], bbox)
        return out


def mesh_loss(pred: dict[str, torch.Tensor], verts: torch.Tensor, kps: torch.Tensor, batch: dict[str, torch.Tensor],
              weights: tuple[float, ...]) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted sum of the loss terms (module docstring) and each term's value (floats, for the history).

    ``batch``: the targets (``task.batch_targets``), ``bbox`` (B, 3) box features and ``pose_weight`` (B,)
    (0 for a mirrored sample, whose bone rotations are unknown)."""
    w_v, w_k, w_pose, w_glob, w_shape, w_face, w_2d, w_t = weights
    pose_w = batch["pose_weight"]
    pose_err = (pred["rotmats"] - batch["rotmats"]).square().mean(dim=(1, 2, 3))
    root_gt = batch["pelvis_cam"]
    terms = {
        "vertices_m": (verts - batch["vertices_rr"]).norm(dim=-1).mean(),
        "keypoints_m": (kps - batch["keypoints_rr"]).norm(dim=-1).mean(),
        "pose": (pose_err * pose_w).sum() / pose_w.sum().clamp_min(1.0),
        "global": (pred["global_rotmat"] - batch["global_rotmat"]).square().mean(),
        "phenotypes": (pred["phenotypes"] - batch["phenotypes"]).square().mean(),
        "facial": (pred["facial_actions"] - batch["facial_actions"]).square().mean(),
        "keypoints_2d": (crop_projection(kps + pred["translation"][:, None], batch["bbox"])
                         - crop_projection(batch["keypoints_rr"] + root_gt[:, None], batch["bbox"])).norm(dim=-1).mean(),
        "translation_m": (pred["translation"] - root_gt).norm(dim=-1).mean(),
    }
    total = (w_v * terms["vertices_m"] + w_k * terms["keypoints_m"] + w_pose * terms["pose"]
             + w_glob * terms["global"] + w_shape * terms["phenotypes"] + w_face * terms["facial"]
             + w_2d * terms["keypoints_2d"] + w_t * terms["translation_m"])
    return total, {k: float(v.detach()) for k, v in terms.items()}
