"""``build_posed_scene(spec)``: the one place where a drawn ``SceneSpec`` becomes meshes and cameras.

Everything random was drawn by ``sample_scene``; here it is only evaluated: every body posed at
every frame, each person's look computed from the drawn outfit, every view's camera track. The
worker renders and labels the result; the preview draws the same thing. Garments and props plug in
here: each becomes ``SurfaceMesh`` items (``surface_meshes``) with per-frame vertices
(``frame_vertices``), so the renderer and the labels see one scene.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth.bodies.base import BodyModel, PosedBody
from synth.cameras.rigs import CameraTrack
from synth.clothing.appearance import compute_body_regions, compute_vertex_colors
from synth.clothing.types import PersonAppearance
from synth.core.surfaces import MaterialSpec, SurfaceMesh
from synth.pipeline.camera_tracks import compute_camera_tracks
from synth.pipeline.geometry import load_body, person_params
from synth.recipe.spec import PersonSpec, SceneSpec


@dataclass(frozen=True)
class PosedPerson:
    """One person of a posed scene.

    posed : vertices (T, V, 3), joints (T, J, 3), keypoints (T, K, 3), float32 world metres.
    appearance : per-vertex linear RGB of the body and its roughness (from the drawn outfit).
    """

    index: int
    spec: PersonSpec
    body: BodyModel
    posed: PosedBody
    appearance: PersonAppearance

    @property
    def faces(self) -> np.ndarray:
        return self.body.faces

    @property
    def instance_id(self) -> int:
        """The value of this person in the instance image: index + 1."""
        return self.index + 1

    def surface_meshes(self) -> list[SurfaceMesh]:
        """The person's meshes as drawn: the body (garments and hair join here)."""
        return [SurfaceMesh(
            name=f"synth_person_{self.instance_id}", faces=np.asarray(self.body.faces, np.int32),
            n_vertices=int(self.posed.vertices.shape[1]),
            material=MaterialSpec(kind="vertex_color", roughness=float(self.appearance.roughness)),
            instance_id=self.instance_id, vertex_colors=self.appearance.vertex_colors)]

    def frame_vertices(self, t: int) -> list[np.ndarray]:
        """(V, 3) float32 world metres per mesh of ``surface_meshes()``, at frame ``t``."""
        return [self.posed.vertices[t]]


@dataclass(frozen=True)
class PosedScene:
    """A scene with every mesh posed at every frame and every view's camera over time."""

    spec: SceneSpec
    people: tuple[PosedPerson, ...]
    camera_tracks: tuple[CameraTrack, ...]

    @property
    def frames(self) -> int:
        return self.spec.frames

    def surface_meshes(self) -> list[SurfaceMesh]:
        """Everything the renderer draws besides the world, ground and lights, in a fixed order."""
        return [m for p in self.people for m in p.surface_meshes()]

    def frame_vertices(self, t: int) -> list[np.ndarray | None]:
        """Per mesh of ``surface_meshes()``: (V, 3) float32 world metres at frame ``t`` (None for static meshes)."""
        return [v for p in self.people for v in p.frame_vertices(t)]


def compute_appearance(body: BodyModel, person: PersonSpec) -> PersonAppearance:
    """Paint the person's drawn outfit on its body (deterministic: the outfit holds every draw)."""
    regions = compute_body_regions(body, person.shape)
    return PersonAppearance(vertex_colors=compute_vertex_colors(regions, person.outfit),
                            roughness=float(person.outfit.roughness))


def build_posed_scene(spec: SceneSpec) -> PosedScene:
    """Pose every person at every frame, compute their looks and every view's camera track (no randomness)."""
    people = []
    for k, p in enumerate(spec.people):
        body = load_body(p.body_model, p.body_options)
        posed = body.forward(person_params(p))
        people.append(PosedPerson(index=k, spec=p, body=body, posed=posed, appearance=compute_appearance(body, p)))
    tracks = compute_camera_tracks(spec, [p.posed for p in people])
    return PosedScene(spec=spec, people=tuple(people), camera_tracks=tuple(tracks))
