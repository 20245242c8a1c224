"""Two people who touch: a hand on the other's shoulder, a handshake, holding hands.

A pure function of plain data (``pose_touch``): the two bodies' shapes, the kind of touch, who touches with
which hand and how the pair stands (all drawn by ``synth.recipe.sample``). It returns one static pose per person
(the touch is held for the whole clip) in the *pair frame*: the touched person stands at the origin facing -Y
(yaw 0), the toucher beside, behind or in front of them. Everything is checked on the real posed meshes (the
body model's forward), and the result reports what it measured.

* ``hand_on_shoulder`` — side by side (0.8-0.9 m apart), the toucher a little behind; the toucher's near hand
  comes down onto the top of the other's near shoulder (the highest surface point above the shoulder joint).
* ``handshake`` — facing each other ``spacing_m`` apart (0.6-0.9 m); both reach their right hands to a point
  midway between them at about elbow height (the mean of the two), the toucher's hand moving in until it meets
  the other's.
* ``hold_hands`` — side by side (0.75-0.9 m); the touched person's near hand reaches a little towards the
  toucher at hip height, the toucher's near hand moves in sideways until it meets it.

How the contact is made: the touched person's pose is fixed first (an idle standing pose, or a reach to the
meeting point); the toucher's wrist target then moves along an approach line (from its shoulder through the goal:
the hand leads) and arm IK (``synth.motion.procedural.generate_reach``: two-bone IK, trunk lean for far targets)
poses the arm at every step. A scan (``SCAN_STEPS``, so a hand cannot pass through the other) and a bisection
along the line (to ``STEP_M``, 2 mm) find the last position where no vertex of either body is inside the other
(signed distances on the real meshes, both ways). The pose is accepted when there the closest vertex of the
toucher lies within ``MAX_GAP_M`` (1 cm) of the other body and belongs to the touching hand; ``penetration_m``
is then 0 as measured (no vertex of either body inside the other). ``RecipeError`` when the target is out of
reach (a child's hand on a tall adult's shoulder), the bodies overlap before the hands meet, or another part
touches first: the caller then tries other roles or leaves the pair untouched (recorded).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from synth.bodies.base import BodyParams
from synth.core.errors import RecipeError

TOUCH_KINDS = ("hand_on_shoulder", "handshake", "hold_hands")
#: how each touch lays the pair out (drawn uniformly by the caller): centre-to-centre ``spacing_m`` (across when side
#: by side, face to face for a handshake) and the toucher's ``offset_m`` behind the touched person
PAIR_LAYOUT_M = {
    "hand_on_shoulder": {"spacing_m": (0.8, 0.9), "offset_m": (0.05, 0.15)},
    "handshake": {"spacing_m": (0.6, 0.9), "offset_m": (0.0, 0.0)},
    "hold_hands": {"spacing_m": (0.75, 0.9), "offset_m": (0.0, 0.0)},
}
#: an adult's shoulder height (m): the layout scales with the pair's mean shoulder height over it
ADULT_SHOULDER_M = 1.4
#: bisection resolution along the approach line (m)
STEP_M = 0.002
#: the toucher's closest vertex must come this close to the other body (m)
MAX_GAP_M = 0.01
#: a wrist target farther than this times the arm (shoulder-elbow-wrist) from the shoulder is out of reach
REACH_LIMIT = 1.2
#: steps of the scan along the approach line before the bisection
SCAN_STEPS = 6
#: sideways / vertical offsets (m) of the approach line tried in turn when the hand passes beside the target
SIDESTEPS_M = ((0.0, 0.0), (0.03, 0.0), (-0.03, 0.0), (0.0, 0.03), (0.0, -0.03), (0.06, 0.0), (-0.06, 0.0))


@dataclass(frozen=True)
class TouchPose:
    """Two people touching, in the pair frame (the touched person at the origin facing -Y).

    pose_rotvec : (2, J, 3) float32 per person (index 0: the toucher, 1: the touched person)
    T_world_from_root : (2, 4, 4) float64
    vertices : (2, V, 3) float32 posed meshes (pair frame, metres)
    gap_m : smallest distance from a toucher vertex to the other body (>= 0; <= MAX_GAP_M)
    penetration_m : deepest vertex of either body inside the other (0 = none)
    touching_part / touched_part : body part names (``synth.bodies.parts.PART_NAMES``) of the closest pair
    contact_vertices : toucher vertices within 2 cm of the other body
    """

    kind: str
    side: str              # the toucher's hand
    spacing_m: float
    offset_m: float
    pose_rotvec: np.ndarray
    T_world_from_root: np.ndarray
    vertices: np.ndarray
    gap_m: float
    penetration_m: float
    touching_part: str
    touched_part: str
    contact_vertices: int


def _yaw_T(yaw_rad: float, x: float, y: float) -> np.ndarray:
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    M = np.eye(4)
    M[:2, :2] = [[c, -s], [s, c]]
    M[:2, 3] = (x, y)
    return M


def _finish(skel, g, fingers: np.ndarray, finger_idx: list[int], place: np.ndarray):
    from synth.motion.grounding import finish_motion

    rotvec, T = finish_motion(skel, g.local, g.R_root, g.p_root, g.grounding, center=False)
    rotvec = np.asarray(rotvec, dtype=np.float32).copy()
    rotvec[:, finger_idx] = fingers
    return rotvec[0], place @ T[0]


def _forward(body, shape, rotvec, T):
    out = body.forward(BodyParams(model=body.name, shape=shape, pose_rotvec=np.asarray(rotvec, np.float32)[None],
                                  T_world_from_root=np.asarray(T, np.float64)[None]))
    return np.asarray(out.vertices[0], dtype=np.float64), np.asarray(out.joints[0], dtype=np.float64)


def _to_body(place: np.ndarray, point_world: np.ndarray) -> np.ndarray:
    """A world (pair-frame) point in the body frame of a person placed by ``place`` (4, 4)."""
    R, t = place[:3, :3], place[:3, 3]
    return R.T @ (np.asarray(point_world, dtype=np.float64) - t)


def _signed_gap(va: np.ndarray, ia, vb: np.ndarray, ib, margin: float = 0.05):
    """Smallest signed distance between two bodies both ways (negative: a vertex inside the other body), and
    the index of the closest vertex of ``va`` (or -1 when none is within ``margin``)."""
    best, a_idx = np.inf, -1
    for pts, index, is_a in ((va, ib, True), (vb, ia, False)):
        near = np.nonzero(index.near_box(pts, margin))[0]
        if len(near) == 0:
            continue
        # only vertices within ``margin`` of the surface get a sign (the pseudo-normal sign is exact near it)
        dist, face, q = index.closest_within(pts[near], margin)
        sd = np.full(len(near), np.inf)
        ok = face >= 0
        if not ok.any():
            continue
        sd[ok] = np.where(index.sign_at(pts[near][ok], face[ok], q[ok]) < 0, -dist[ok], dist[ok])
        k = int(np.argmin(sd))
        if is_a and np.isfinite(sd[k]):
            a_idx = int(near[k])
        best = min(best, float(sd[k]))
    return best, a_idx


def pose_touch(body, shapes: tuple[dict, dict], fingers: tuple[np.ndarray, np.ndarray], kind: str, *,
               side: str, spacing_m: float, offset_m: float, idle_seed: int) -> TouchPose:
    """Pose person 0 (the toucher, hand ``side`` 'L'/'R'; a handshake always uses the right hands) touching
    person 1 (see the module doc).

    shapes : the two people's shape dicts; fingers : their (J_fingers, 3) finger rotations (kept)
    spacing_m : centre-to-centre distance across (side by side) or face to face (handshake), for adults
    offset_m : the toucher's offset along the touched person's facing axis (+: behind them), for adults
    (both scale with the pair's mean shoulder height over ``ADULT_SHOULDER_M``; the result records the values used)
    idle_seed : seed of the touched person's idle standing pose (drawn by the caller)
    """
    from synth.core.mesh import TriangleIndex
    from synth.motion.interactions import fingers_of
    from synth.motion.procedural import generate_idle, generate_reach
    from synth.motion.skeleton import BodySkeleton

    if kind not in TOUCH_KINDS:
        raise RecipeError(f"people.touch.kinds: unknown touch {kind!r}; expected any of {list(TOUCH_KINDS)}")
    if side not in ("L", "R"):
        raise RecipeError(f"pair touch: side must be 'L' or 'R', got {side!r}")
    if kind == "handshake":
        side = "R"
    rng = np.random.default_rng(idle_seed)
    fidx = fingers_of(body)
    skels = [BodySkeleton.from_body(body, s) for s in shapes]
    parts = np.asarray(body.vertex_part_labels())
    from synth.bodies.parts import PART_NAMES

    hand_part = PART_NAMES.index("left_hand" if side == "L" else "right_hand")
    # side by side, the toucher's touching side faces the other person
    sgn = 1.0 if side == "L" else -1.0          # the toucher's left is +x at yaw 0
    # the layout is for adults: scaled by the pair's mean shoulder height over an adult's
    scale = float(np.clip(np.mean([k.rest_height_above_ground("shoulder_L") for k in skels]) / ADULT_SHOULDER_M,
                          0.45, 1.2))
    spacing_m, offset_m = spacing_m * scale, offset_m * scale
    if kind == "handshake":
        place_a = _yaw_T(math.pi, 0.0, -spacing_m)          # facing +Y, in front of the touched person
        near_b = "R"
    else:
        # side by side, both facing -Y: the toucher's hand side points at the other person
        place_a = _yaw_T(0.0, -sgn * spacing_m, offset_m)
        near_b = "L" if side == "R" else "R"                 # the touched person's side facing the toucher
    place_b = np.eye(4)
    sk_a, sk_b = skels
    t_hold = np.array([1.6])                                  # generate_reach holds the target over 1.3-1.9 s

    def arm(sk):
        return sk.segment_length(f"shoulder_{side}", f"elbow_{side}") + sk.segment_length(f"elbow_{side}",
                                                                                          f"wrist_{side}")

    def rest_world(sk, place, role):
        p = sk.rest_joints[sk.idx(role)] - np.array([0.0, 0.0, sk.ground_z])
        return place[:3, :3] @ p + place[:3, 3]

    # -- the touched person's pose, and the point the toucher's hand goes to
    s_a = rest_world(sk_a, place_a, f"shoulder_{side}")
    if kind == "hand_on_shoulder":
        g = generate_idle(sk_b, np.zeros(1), rng)
        rot_b, T_b = _finish(sk_b, g, fingers[1], fidx, place_b)
        vb, jb = _forward(body, shapes[1], rot_b, T_b)
        s = jb[sk_b.idx(f"shoulder_{near_b}")]
        col = np.linalg.norm(vb[:, :2] - s[:2], axis=1) < 0.03
        top = vb[col & (vb[:, 2] > s[2])]
        goal = top[np.argmax(top[:, 2])] if len(top) else s + [0.0, 0.0, 0.08]
        lift = 0.12                       # the hand comes down onto the shoulder top
    else:
        sb = rest_world(sk_b, place_b, f"shoulder_{near_b}")
        if kind == "handshake":
            z = 0.5 * sum(float(w[2] - 0.55 * arm(k)) for w, k in ((s_a, sk_a), (sb, sk_b)))
            goal = np.array([0.5 * (s_a[0] + sb[0]), 0.5 * (s_a[1] + sb[1]), z])
        else:
            wa = rest_world(sk_a, place_a, f"wrist_{side}")
            wb = rest_world(sk_b, place_b, f"wrist_{near_b}")
            goal = np.array([0.5 * (s_a[0] + sb[0]), 0.5 * (s_a[1] + sb[1]) - 0.08, 0.5 * (wa[2] + wb[2]) + 0.1])
        # the touched person's wrist: a little short of the meeting point, on their own side
        toward_b = sb - s_a
        toward_b[2] = 0.0
        toward_b /= max(np.linalg.norm(toward_b), 1e-9)
        target_b = goal + toward_b * 0.06
        if np.linalg.norm(target_b - sb) > REACH_LIMIT * arm(sk_b):
            raise RecipeError(f"pair touch {kind!r}: the meeting point is out of the touched person's reach")
        g = generate_reach(sk_b, t_hold, rng, side=near_b, target=_to_body(place_b, target_b))
        rot_b, T_b = _finish(sk_b, g, fingers[1], fidx, place_b)
        vb, jb = _forward(body, shapes[1], rot_b, T_b)
        near_hand = PART_NAMES.index("left_hand" if near_b == "L" else "right_hand")
        goal = vb[parts == near_hand].mean(axis=0)           # the toucher's hand goes to the other hand
        lift = 0.0
    # the approach: the toucher's wrist moves along the line from its shoulder through the goal (the hand leads)
    # (horizontal for hands meeting hands, so the two hands meet at the same height)
    d = goal - s_a
    if kind != "hand_on_shoulder":
        d[2] = 0.0
    d /= max(np.linalg.norm(d), 1e-9)
    start = goal - d * 0.25 + [0.0, 0.0, lift]
    # hands: the line ends where the toucher's hand centre is at the other hand's centre (deep in contact)
    end = goal + d * (0.2 if kind == "hand_on_shoulder" else 0.0) - [0.0, 0.0, 0.5 * lift]
    if np.linalg.norm(goal - s_a) > (REACH_LIMIT + 0.15) * arm(sk_a):      # + the hand beyond the wrist
        raise RecipeError(f"pair touch {kind!r}: the other person is out of the toucher's reach")
    ib = TriangleIndex(vb, body.faces)
    shift = np.zeros(3)

    def toucher_at(t: float):
        target = start + t * (end - start) - shift
        g = generate_reach(sk_a, t_hold, rng, side=side, target=_to_body(place_a, target))
        rot, T = _finish(sk_a, g, fingers[0], fidx, place_a)
        va, ja = _forward(body, shapes[0], rot, T)
        gap, closest = _signed_gap(va, TriangleIndex(va, body.faces), vb, ib)
        return rot, T, va, gap, closest, ja

    first = toucher_at(0.0)
    if kind != "hand_on_shoulder":
        # move the line so the centre of the toucher's hand (not its wrist) heads for the other hand
        # (measured in the pose where the wrist is at the goal; twice, as the hand turns with the arm)
        for _ in range(2):
            at = toucher_at(1.0)
            shift = shift + at[2][parts == hand_part].mean(axis=0) - goal
        first = toucher_at(0.0)
    if first[3] <= 0.0:
        raise RecipeError(f"pair touch {kind!r}: the two bodies overlap before the hands meet")
    # the first contact along the line (in steps of SCAN_STEPS, so a hand does not pass through the other), then
    # bisection between the last clear step and it; a hand that passes beside the other tries the same approach
    # a little to either side, above, below
    across = np.cross(d, [0.0, 0.0, 1.0])
    across /= max(np.linalg.norm(across), 1e-9)
    base = shift.copy()
    found = None
    for k, off in enumerate(SIDESTEPS_M):
        shift = base + across * off[0] + np.array([0.0, 0.0, off[1]])
        if k:
            first = toucher_at(0.0)
        if first[3] <= 0.0:
            continue
        prev, prev_result = 0.0, first
        for t in np.linspace(0.0, 1.0, SCAN_STEPS + 1)[1:]:
            result = toucher_at(float(t))
            if result[3] <= 0.0:
                found = (prev, float(t), prev_result)
                break
            prev, prev_result = float(t), result
        if found:
            break
    if found is None:
        raise RecipeError(f"pair touch {kind!r}: the hand does not reach the other person along its approach")
    lo, hi, best = found                # lo: clear, hi: in contact
    length = float(np.linalg.norm(end - start))
    while (hi - lo) * length > STEP_M:
        mid = 0.5 * (lo + hi)
        r = toucher_at(mid)
        if r[3] > 0.0:
            lo, best = mid, r
        else:
            hi = mid
    rot_a, T_a, va, gap, closest, _ = best
    if not gap <= MAX_GAP_M or closest < 0:
        raise RecipeError(f"pair touch {kind!r}: the hand stops {gap * 100:.1f} cm from the other body")
    if parts[closest] != hand_part:
        raise RecipeError(f"pair touch {kind!r}: the toucher's {PART_NAMES[parts[closest]]} touches first, "
                          "not the hand")
    d_all, _, _ = ib.closest_within(va, 0.02)
    d_b, _, _ = TriangleIndex(va, body.faces).closest_within(vb, 0.02)
    touched = PART_NAMES[int(np.bincount(parts[np.isfinite(d_b)]).argmax())] if np.isfinite(d_b).any() else "none"
    return TouchPose(kind=kind, side=side, spacing_m=spacing_m, offset_m=offset_m,
                     pose_rotvec=np.stack([rot_a, rot_b]).astype(np.float32), T_world_from_root=np.stack([T_a, T_b]),
                     vertices=np.stack([va, vb]).astype(np.float32),
                     gap_m=float(gap), penetration_m=0.0, touching_part=PART_NAMES[parts[closest]],
                     touched_part=touched, contact_vertices=int(np.isfinite(d_all).sum()))
