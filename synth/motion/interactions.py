"""People posed against props: sitting on a seat, standing on a box or steps, lying on a bed.

Props come as plain geometry (``PropGeometry``: the environment's prop mesh, placement and support
surfaces, built by ``synth.recipe.interactions.prop_geometry``), so this module needs only the body
model and the motion kinematics. Every pose is checked on the real posed mesh (the model's forward),
and each result reports what it measured (``penetration_m``: deepest body vertex inside the prop, 0
when none is; gaps to the supporting surface; feet above the floor).

``pose_seated``: hips flexed, shins from the knee angle, feet flat, forearms forward over the thighs.

1. Knee and hip angles: the seat height the posture gives (lowest buttock/thigh vertex minus lowest
   foot vertex) must equal the seat's. With horizontal thighs and vertical shins it is the body's
   natural sitting height; a lower seat moves the feet forward (knee 20-90 degrees), a higher one lets
   the thighs slope down to the knees (up to 30 degrees; the buttocks and the first 12 cm of the thighs
   rest on the seat). Higher still, or a seat too small for sloping thighs: the feet hang.
2. Height: the lowest support vertex ``gap_m`` (1 mm) above the seat top.
3. Depth: the person faces out of the prop's front (its -y side); the buttocks start 2 cm from the back of
   the seat and slide forward (bisection to 5 mm) to the first place where no body vertex is inside the
   prop (calves against a sofa's base, back against a backrest), the buttocks still on the seat.

``pose_standing_on``: a planted clip lifted onto the highest top that holds the soles.
``pose_lying``: on the back along a bed, head to the headboard.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from synth.bodies.base import BodyParams, forward_frames_independent
from synth.core.errors import RecipeError
from synth.core.mesh import point_mesh_distance, points_inside_mesh

ADDUCT_DEG, FLEX_DEG, ELBOW_DEG = 20.0, 10.0, 40.0  # forearms forward over the thighs
SEAT_KINDS = ("chair", "stool", "bench", "sofa", "box", "bed")


@dataclass(frozen=True)
class PropGeometry:
    """What posing needs of a prop, as plain data (``synth.recipe.interactions.prop_geometry`` builds it from a
    ``PropSpec``): its kind, closed mesh in its own frame (x across, y deep with the front at -y, z up; vertices
    (V, 3) float64 metres, faces (F, 3) int), placement (prop frame -> world: yaw about +Z, then (x, y)) and its
    support surfaces (``{"use", "z_m", "x_m": (lo, hi), "y_m": (lo, hi)}`` in the prop frame)."""

    kind: str
    vertices: np.ndarray
    faces: np.ndarray
    x_m: float
    y_m: float
    yaw_rad: float
    surfaces: tuple
#: how far the thighs may slope down to the knees to put the feet on the floor under a high seat
MAX_THIGH_SLOPE_DEG = 30.0
#: bisection steps of the knee / hip fit (range / 2^10: < 0.1 degree)
BISECTION_STEPS = 10


def fingers_of(body) -> list[int]:
    """Indices of the hand joints (fingers, metacarpals, thumb): an interaction keeps the person's drawn hand pose."""
    return [j for j, n in enumerate(body.joint_names) if n.startswith(("finger", "metacarpal", "thumb"))]


@dataclass(frozen=True)
class SeatedPose:
    """A body sitting on a prop.

    pose_rotvec : (J, 3) float32, the model's pose parameters
    T_world_from_root : (4, 4) float64
    vertices : (V, 3) float32 world metres (the posed mesh)
    penetration_m : deepest body vertex inside the prop (0 = none inside)
    seat_gap_m : lowest buttock/thigh vertex above the seat top (m)
    feet_height_m : lowest foot vertex above the floor (0 = feet on the floor; > 0 hanging)
    knee_rad : knee flexion used (= hip_rad: vertical shins)
    hip_rad : hip flexion used (pi/2 = horizontal thighs; less on a seat higher than the body's natural one)
    """

    pose_rotvec: np.ndarray
    T_world_from_root: np.ndarray
    vertices: np.ndarray
    penetration_m: float
    seat_gap_m: float
    feet_height_m: float
    knee_rad: float
    hip_rad: float = math.pi / 2


def points_inside_prop(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(N, 3) points -> (N,) bool inside the closed mesh; only points in its bounding box are tested (fast)."""
    P = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    V = np.asarray(vertices, dtype=np.float64)
    box = np.all((P >= V.min(axis=0) - 1e-9) & (P <= V.max(axis=0) + 1e-9), axis=1)
    out = np.zeros(len(P), dtype=bool)
    if box.any():
        out[box] = points_inside_mesh(P[box], V, faces)
    return out


def _axis_rot(axis: np.ndarray, angle: float) -> np.ndarray:
    from synth.core.rotations import axis_angle_matrix

    return axis_angle_matrix(np.asarray(axis, dtype=np.float64)[None], np.array([angle]))


def _sitting(skel, knee_rad: float, R_root: np.ndarray, hip_rad: float = math.pi / 2):
    """Local rotations (1, J, 3, 3) of the sitting posture; the root stays at its rest position.

    hip_rad : hip flexion (pi/2: thighs horizontal; less: thighs sloping down to the knees); knee_rad : knee flexion
    (= hip_rad: vertical shins); the ankles keep the feet flat.
    """
    from synth.motion.skeleton import LEFT

    deltas = {}
    for s in ("L", "R"):
        sgn = 1.0 if s == "L" else -1.0
        deltas[skel.idx(f"hip_{s}")] = _axis_rot(LEFT, -hip_rad) @ _axis_rot([0, 0, 1], -sgn * 0.08)
        deltas[skel.idx(f"knee_{s}")] = _axis_rot(LEFT, knee_rad)
        deltas[skel.idx(f"ankle_{s}")] = _axis_rot(LEFT, hip_rad - knee_rad)
        shoulder = _axis_rot([0, 1, 0], sgn * math.radians(ADDUCT_DEG)) @ _axis_rot(LEFT, -math.radians(FLEX_DEG))
        deltas[skel.idx(f"shoulder_{s}")] = shoulder
        e = skel.idx(f"elbow_{s}")
        deltas[e] = _axis_rot(skel.hinge_rest(e), -math.radians(ELBOW_DEG))
    local, _, _ = skel.compose(R_root[None], skel.root_rest[None], deltas)
    return local


def _sitting_many(skel, knees: np.ndarray, hips: np.ndarray, R_root: np.ndarray) -> np.ndarray:
    """Local rotations (N, J, 3, 3) of N sitting postures (knee and hip angles (N,)): :func:`_sitting` for each
    (the same numbers), built in one composition."""
    from synth.core.rotations import axis_angle_matrix
    from synth.motion.skeleton import LEFT

    knees = np.asarray(knees, dtype=np.float64)
    hips = np.asarray(hips, dtype=np.float64)
    n = len(knees)

    def rot(axis, angles: np.ndarray) -> np.ndarray:
        return axis_angle_matrix(np.repeat(np.asarray(axis, dtype=np.float64)[None], n, 0), angles)

    hip_flex, knee_flex, ankle_flex = rot(LEFT, -hips), rot(LEFT, knees), rot(LEFT, hips - knees)
    deltas = {}
    for s in ("L", "R"):
        sgn = 1.0 if s == "L" else -1.0
        deltas[skel.idx(f"hip_{s}")] = hip_flex @ _axis_rot([0, 0, 1], -sgn * 0.08)
        deltas[skel.idx(f"knee_{s}")] = knee_flex
        deltas[skel.idx(f"ankle_{s}")] = ankle_flex
        shoulder = _axis_rot([0, 1, 0], sgn * math.radians(ADDUCT_DEG)) @ _axis_rot(LEFT, -math.radians(FLEX_DEG))
        deltas[skel.idx(f"shoulder_{s}")] = np.repeat(shoulder, n, 0)
        e = skel.idx(f"elbow_{s}")
        deltas[e] = np.repeat(_axis_rot(skel.hinge_rest(e), -math.radians(ELBOW_DEG)), n, 0)
    local, _, _ = skel.compose(np.repeat(R_root[None], n, 0), np.repeat(skel.root_rest[None], n, 0), deltas)
    return local


def _posed(body, skel, shape, local, R_root):
    rotvec = skel.to_rotvec(local)
    T = skel.T_world_from_root(R_root[None], skel.root_rest[None])
    out = body.forward(BodyParams(model=body.name, shape=shape, pose_rotvec=rotvec, T_world_from_root=T))
    return rotvec[0], T[0], np.asarray(out.vertices[0], dtype=np.float64), np.asarray(out.joints[0])


def _support_split(skel, joints: np.ndarray, verts: np.ndarray, forward: np.ndarray, sloped: bool = False):
    """Masks of the vertices that rest on a seat (behind the knees, above the shins; with thighs sloping down,
    only the buttocks and the first 12 cm of the thighs in front of the hip joints) and of the feet."""
    knee = 0.5 * (joints[skel.idx("knee_L")] + joints[skel.idx("knee_R")])
    hip = 0.5 * (joints[skel.idx("hip_L")] + joints[skel.idx("hip_R")])
    ankle = 0.5 * (joints[skel.idx("ankle_L")] + joints[skel.idx("ankle_R")])
    along = (verts - knee) @ forward
    seat = (along < -0.08) & (verts[:, 2] > knee[2] - 0.15)
    near = np.flatnonzero(seat)  # the hands' distance matters only for these (one vertex's norm is its own)
    hands = np.minimum(np.linalg.norm(verts[near] - joints[skel.idx("wrist_L")], axis=1),
                       np.linalg.norm(verts[near] - joints[skel.idx("wrist_R")], axis=1))
    seat[near] = hands > 0.25
    if sloped:
        seat &= (verts - hip) @ forward < 0.12
    feet = verts[:, 2] < ankle[2] + 0.02
    return seat, feet


def pose_seated(body, shape: dict, prop: PropGeometry, *, gap_m: float = 0.001, surface: int = 0) -> SeatedPose:
    """Sit a body (``body`` with ``shape``) on ``prop``'s seat ``surface`` (see the module doc)."""
    from synth.motion.skeleton import BodySkeleton

    seats = [s for s in prop.surfaces if s["use"] == "sit"]
    if prop.kind not in SEAT_KINDS or not seats:
        raise RecipeError(f"interaction 'sit': a {prop.kind!r} has no seat; expected one of {list(SEAT_KINDS)}")
    seat = seats[min(surface, len(seats) - 1)]
    skel = BodySkeleton.from_body(body, shape)
    forward_local = np.array([0.0, -1.0, 0.0])           # body and prop fronts: -y at yaw 0
    R_yaw = _axis_rot([0, 0, 1], prop.yaw_rad)[0]
    forward = R_yaw @ forward_local

    measured: dict[tuple[float, float], tuple] = {}
    # a posture measured once is reused (in a later grid or as the final posture) only when the body model's
    # numbers for a frame do not depend on its batch (Anny); otherwise (SMPL-X) every call poses all its
    # postures in one forward of that size, as before the memo: a grid of 12, a single posture alone
    reuse = forward_frames_independent(body)

    def measure_many(knees, hips) -> np.ndarray:
        """Seat heights (N,) of several postures, posed in one forward pass of the body model (with ``reuse``:
        only the postures not measured yet; the body model poses each frame of a batch on its own)."""
        keys = [(float(k), float(h)) for k, h in zip(knees, hips)]
        todo = [key for key in dict.fromkeys(keys) if key not in measured] if reuse else keys
        if todo:
            n = len(todo)
            local = _sitting_many(skel, np.array([k for k, _ in todo]), np.array([h for _, h in todo]), R_yaw)
            rotvec = skel.to_rotvec(local)
            T = skel.T_world_from_root(np.repeat(R_yaw[None], n, 0), np.repeat(skel.root_rest[None], n, 0))
            out = body.forward(BodyParams(model=body.name, shape=shape, pose_rotvec=rotvec, T_world_from_root=T))
            V, J = np.asarray(out.vertices, dtype=np.float64), np.asarray(out.joints)
            for t, key in enumerate(todo):
                sup, feet = _support_split(skel, J[t], V[t], forward, sloped=key[1] < math.pi / 2 - 1e-6)
                measured[key] = (rotvec[t], T[t], V[t], sup, float(V[t][sup, 2].min() - V[t][feet, 2].min()))
        return np.asarray([measured[key][4] for key in keys])

    def solve(lo, hi, sloped):
        """The angle in [lo, hi] whose seat height is nearest the target from below (feet on or just above the
        floor): two grids of 12 angles, each one forward pass (< 0.3 degree). The seat height grows with the knee
        angle (feet forward -> under the knees) and falls with the hip angle (sloping thighs -> horizontal)."""
        for _ in range(2):
            grid = np.linspace(lo, hi, 12)
            h = measure_many(grid, grid if sloped else np.full_like(grid, math.pi / 2))
            ok = h <= target
            if not ok.any():
                return None                   # every angle puts the feet below the floor
            if ok.all():
                return hi if not sloped else lo
            if sloped:                        # ok for hips from some index on
                idx = int(np.argmax(ok))
                lo, hi = grid[idx - 1], grid[idx]
            else:                             # ok for knees up to some index
                idx = int(np.argmax(~ok))
                lo, hi = grid[idx - 1], grid[idx]
        return hi if sloped else lo

    def measure(knee, hip=math.pi / 2):
        """rotvec, T, vertices, support mask and seat height of one posture (measured once)."""
        measure_many([knee], [hip])
        return measured[(float(knee), float(hip))]

    target = float(seat["z_m"])
    rotvec, T, v, sup, h = measure(math.pi / 2)
    knee = hip = math.pi / 2
    if h > target:  # the seat is lower than vertical shins give: feet forward (knee 20-90 degrees)
        knee = solve(math.radians(20.0), math.pi / 2, sloped=False)
        if knee is None:
            raise RecipeError(f"interaction 'sit': the {prop.kind}'s seat ({target:.2f} m) is too low for this body "
                              "even with the legs stretched forward")
        rotvec, T, v, sup, h = measure(knee)
    elif h < target:  # a higher seat: thighs slope down to the knees (up to 30 degrees), shins vertical
        hip = knee = solve(math.pi / 2 - math.radians(MAX_THIGH_SLOPE_DEG), math.pi / 2, sloped=True)
        rotvec, T, v, sup, h = measure(knee, hip)

    pv, pf = (prop.vertices, prop.faces)
    try:
        return _place_seated(prop, seat, pv, pf, rotvec, T, v, sup, knee, hip, gap_m)
    except RecipeError:
        if hip >= math.pi / 2 - 1e-6:
            raise
    # sloping thighs do not fit this seat (a small bar-stool top): sit with horizontal thighs, feet hanging
    rotvec, T, v, sup, _ = measure(math.pi / 2)
    return _place_seated(prop, seat, pv, pf, rotvec, T, v, sup, math.pi / 2, math.pi / 2, gap_m)


def _place_seated(prop: PropGeometry, seat: dict, pv, pf, rotvec, T, v, sup, knee: float, hip: float,
                  gap_m: float) -> SeatedPose:
    """Put the posture (vertices ``v`` posed about the origin, turned by the prop's yaw) on the seat (module doc)."""
    target = float(seat["z_m"])
    c, s = math.cos(prop.yaw_rad), math.sin(prop.yaw_rad)
    R2 = np.array([[c, -s], [s, c]])

    # the body posed at the origin, turned by the prop's yaw, in prop axes (the world placement adds R2 shift + prop xy)
    vp = np.column_stack([v[:, :2] @ R2, v[:, 2]])
    # height: the buttocks on the seat top; horizontally: centred across the seat, back of the buttocks near its back
    dz = target + gap_m - vp[sup, 2].min()
    dx = 0.5 * (seat["x_m"][0] + seat["x_m"][1]) - 0.5 * (vp[sup, 0].min() + vp[sup, 0].max())
    dy_back = seat["y_m"][1] - 0.02 - vp[sup, 1].max()
    # the forward-most shift that keeps the buttocks (the lowest 2 cm of the support) 4 cm inside the front edge
    low = sup & (vp[:, 2] < vp[sup, 2].min() + 0.02)
    dy_front = seat["y_m"][0] + 0.04 - vp[low, 1].min()
    if dy_front > dy_back:
        raise RecipeError(f"interaction 'sit': the {prop.kind}'s seat ({seat['y_m'][1] - seat['y_m'][0]:.2f} m deep) "
                          "is too shallow for this body")

    def placed(dy):
        shift = np.array([dx, dy, dz])
        q = vp + shift
        return shift, q, points_inside_prop(q, pv, pf)

    shift, q, inside = placed(dy_back)
    if inside.any():  # slide forward: the first shift (from the back) where nothing is inside the prop
        bad, good = dy_back, dy_front
        shift, q, inside = placed(good)
        if inside.any():
            raise RecipeError(f"interaction 'sit': the body does not fit on the {prop.kind} without passing through it "
                              f"({int(inside.sum())} vertices inside even at the front of the seat)")
        while bad - good > 0.005:
            mid = 0.5 * (bad + good)
            if placed(mid)[2].any():
                bad = mid
            else:
                good = mid
        shift, q, inside = placed(good)
    penetration = float(point_mesh_distance(q[inside], pv, pf).max()) if inside.any() else 0.0
    offset_world = np.concatenate([R2 @ shift[:2] + [prop.x_m, prop.y_m], [shift[2]]])
    # the model was posed about the origin: move it by the prop placement and the fitted shift
    T_world = T.copy()
    T_world[:3, 3] += offset_world
    verts = (v + offset_world).astype(np.float32)
    feet_z = float(verts[:, 2].min())
    return SeatedPose(pose_rotvec=rotvec.astype(np.float32), T_world_from_root=T_world, vertices=verts,
                      penetration_m=penetration, seat_gap_m=float(q[sup, 2].min() - target),
                      feet_height_m=feet_z, knee_rad=float(knee), hip_rad=float(hip))


STAND_KINDS = ("box", "steps")
#: motions whose feet stay planted (a person on a box does not walk off it); ``pose`` holds one pose, so a
#: crouch or lunge goes on the box whole when its footprint (everything within 3 cm of its lowest point) fits
PLANTED_MOTIONS = ("static", "idle", "wave", "reach", "squat", "turn", "pose")


@dataclass(frozen=True)
class StandingPose:
    """A person's clip moved onto a prop's top: T_world_from_root (T, 4, 4), the posed vertices (T, V, 3) float32,
    ``penetration_m`` (deepest vertex inside the prop over the clip) and ``sole_gap_m`` (lowest vertex above the top)."""

    T_world_from_root: np.ndarray
    vertices: np.ndarray
    penetration_m: float
    sole_gap_m: float
    surface_z_m: float


def pose_standing_on(body, shape: dict, pose_rotvec: np.ndarray, T_world_from_root: np.ndarray, prop: PropGeometry,
                     *, gap_m: float = 0.001) -> StandingPose:
    """Move a planted clip (feet still) onto the highest top of a box or steps that holds both feet.

    The person turns to face out of the prop's front (its -y side), the soles' footprint (vertices within
    3 cm of the lowest, over the clip) is centred on the top, which must hold it with 1 cm to spare, and the
    body is lifted so the lowest vertex is ``gap_m`` above the top. RecipeError when the top is too small or a
    vertex would be inside the prop at any frame.
    """
    tops = [s for s in prop.surfaces if s["use"] == "stand"]
    if prop.kind not in STAND_KINDS or not tops:
        raise RecipeError(f"interaction 'stand': a {prop.kind!r} has no top to stand on; expected one of "
                          f"{list(STAND_KINDS)}")
    T_in = np.asarray(T_world_from_root, dtype=np.float64)
    out = body.forward(BodyParams(model=body.name, shape=shape, pose_rotvec=np.asarray(pose_rotvec, np.float32),
                                  T_world_from_root=T_in))
    V = np.asarray(out.vertices, dtype=np.float64)                     # (T, V, 3)
    zmin = V[..., 2].min()
    soles = V[V[..., 2] < zmin + 0.03]                                  # (n, 3) over all frames
    # the body's heading now: its yaw from the first frame's root rotation (a body faces -y at yaw 0)
    yaw_now = math.atan2(T_in[0, 1, 0], T_in[0, 0, 0])
    turn = prop.yaw_rad - yaw_now
    c, s = math.cos(turn), math.sin(turn)
    R = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    pivot = np.append(0.5 * (soles[:, :2].min(axis=0) + soles[:, :2].max(axis=0)), 0.0)
    pv, pf = (prop.vertices, prop.faces)
    cp, sp = math.cos(prop.yaw_rad), math.sin(prop.yaw_rad)
    R2 = np.array([[cp, -sp], [sp, cp]])
    for top in sorted(tops, key=lambda t: -t["z_m"]):
        center_local = np.array([0.5 * (top["x_m"][0] + top["x_m"][1]), 0.5 * (top["y_m"][0] + top["y_m"][1])])
        center = R2 @ center_local + [prop.x_m, prop.y_m]
        lift = top["z_m"] + gap_m - zmin
        move = np.array([center[0], center[1], lift]) - R @ pivot
        sole_local = (((soles - pivot) @ R.T)[:, :2] + center - [prop.x_m, prop.y_m]) @ R2
        fits = ((sole_local[:, 0] >= top["x_m"][0] + 0.01) & (sole_local[:, 0] <= top["x_m"][1] - 0.01)
                & (sole_local[:, 1] >= top["y_m"][0] + 0.01) & (sole_local[:, 1] <= top["y_m"][1] - 0.01)).all()
        if not fits:
            continue
        Vw = V @ R.T + move
        q = np.column_stack([(Vw[..., :2].reshape(-1, 2) - [prop.x_m, prop.y_m]) @ R2, Vw[..., 2].reshape(-1)])
        inside = points_inside_prop(q, pv, pf)
        if inside.any():
            continue
        M = np.eye(4)
        M[:3, :3] = R
        M[:3, 3] = move
        return StandingPose(T_world_from_root=np.einsum("ij,tjk->tik", M, T_in), vertices=Vw.astype(np.float32),
                            penetration_m=0.0, sole_gap_m=float(Vw[..., 2].min() - top["z_m"]),
                            surface_z_m=float(top["z_m"]))
    raise RecipeError(f"interaction 'stand': no top of the {prop.kind} holds this person's feet "
                      f"({np.ptp(soles[:, 0]):.2f} x {np.ptp(soles[:, 1]):.2f} m) without passing through it")


LIE_KINDS = ("bed",)


@dataclass(frozen=True)
class LyingPose:
    """A body lying on its back on a prop's top: pose (J, 3), T_world_from_root (4, 4), vertices (V, 3) float32,
    ``penetration_m`` (0 = no vertex inside the prop) and ``back_gap_m`` (lowest vertex above the top)."""

    pose_rotvec: np.ndarray
    T_world_from_root: np.ndarray
    vertices: np.ndarray
    penetration_m: float
    back_gap_m: float


def pose_lying(body, shape: dict, pose_rotvec: np.ndarray, prop: PropGeometry, *, gap_m: float = 0.001) -> LyingPose:
    """Lay a body on its back along a bed, head towards the headboard (the prop's +y end).

    pose_rotvec : (J, 3) the pose to lie in (e.g. the model's rest pose with the drawn hands). The body is turned
    so its up axis runs along the bed and its front faces up, centred across the mattress, its head 5 cm from the
    headboard (moved towards the foot end, in 1 cm steps, while any vertex is inside the bed), its lowest vertex
    ``gap_m`` above the mattress. RecipeError when it does not fit on the mattress.
    """
    tops = [s for s in prop.surfaces if s["use"] == "lie"]
    if prop.kind not in LIE_KINDS or not tops:
        raise RecipeError(f"interaction 'lie': a {prop.kind!r} has no place to lie on; expected one of {list(LIE_KINDS)}")
    top = tops[0]
    rot = np.asarray(pose_rotvec, dtype=np.float32)[None]
    out = body.forward(BodyParams(model=body.name, shape=shape, pose_rotvec=rot, T_world_from_root=np.eye(4)[None]))
    v = np.asarray(out.vertices[0], dtype=np.float64)
    R_lie = _axis_rot([1, 0, 0], -math.pi / 2)[0]         # body up (+z) -> prop +y, body front (-y) -> up
    vl = v @ R_lie.T                                       # prop axes, before the shift
    lo, hi = vl.min(axis=0), vl.max(axis=0)
    if hi[0] - lo[0] > top["x_m"][1] - top["x_m"][0] or hi[1] - lo[1] > top["y_m"][1] - top["y_m"][0] - 0.05:
        raise RecipeError(f"interaction 'lie': the body ({hi[1] - lo[1]:.2f} x {hi[0] - lo[0]:.2f} m) does not fit on "
                          f"the {prop.kind}'s top")
    pv, pf = (prop.vertices, prop.faces)
    dx = 0.5 * (top["x_m"][0] + top["x_m"][1]) - 0.5 * (lo[0] + hi[0])
    dz = top["z_m"] + gap_m - lo[2]
    for step in range(200):
        dy = top["y_m"][1] - 0.05 - hi[1] - 0.01 * step
        if lo[1] + dy < top["y_m"][0]:
            raise RecipeError(f"interaction 'lie': the body does not fit on the {prop.kind} without passing through it")
        shift = np.array([dx, dy, dz])
        inside = points_inside_prop(vl + shift, pv, pf)
        if not inside.any():
            break
    c, s = math.cos(prop.yaw_rad), math.sin(prop.yaw_rad)
    R_yaw = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    M = np.eye(4)
    M[:3, :3] = R_yaw @ R_lie
    M[:3, 3] = R_yaw @ shift + [prop.x_m, prop.y_m, 0.0]
    verts = (v @ M[:3, :3].T + M[:3, 3]).astype(np.float32)
    return LyingPose(pose_rotvec=rot[0], T_world_from_root=M, vertices=verts, penetration_m=0.0,
                     back_gap_m=float((vl + shift)[:, 2].min() - top["z_m"]))
