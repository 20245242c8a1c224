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
from synth.clothing.garment import SEGMENT_INDEX, Garment
from synth.clothing.types import PersonAppearance
from synth.core.surfaces import MaterialSpec, SurfaceMesh
from synth.environment.spec import EnvironmentSpec
from synth.environment.static_meshes import compute_static_meshes
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
    garments: tuple[Garment, ...] = ()             # bound garments, hair, eyebrows (spec.garments)
    garment_vertices: tuple[np.ndarray, ...] = ()  # per garment (T, N, 3) float32 world metres
    garment_colors: tuple[np.ndarray, ...] = ()    # per garment (N, 3) float32 linear RGB

    @property
    def faces(self) -> np.ndarray:
        return self.body.faces

    @property
    def instance_id(self) -> int:
        """The value of this person in the instance image: index + 1."""
        return self.index + 1

    def surface_meshes(self) -> list[SurfaceMesh]:
        """The person's meshes as drawn: the body, then each garment (hair, eyebrows) with the same instance id
        and its clothing class as ``segment_id`` (``synth.clothing.garment.SEGMENT_CLASSES``)."""
        out = [SurfaceMesh(
            name=f"synth_person_{self.instance_id}", faces=np.asarray(self.body.faces, np.int32),
            n_vertices=int(self.posed.vertices.shape[1]),
            # a dressed body is skin (subsurface scattering); with clothing 'none' the garments are painted on it,
            # so it keeps the plain vertex-colour look (the ablation baseline)
            material=MaterialSpec(kind="skin" if self.garments else "vertex_color",
                                  roughness=float(self.appearance.roughness)),
            instance_id=self.instance_id, segment_id=SEGMENT_INDEX["skin"], vertex_colors=self.appearance.vertex_colors)]
        for j, (g, col) in enumerate(zip(self.garments, self.garment_colors)):
            rough = 0.45 if g.segment == "shoes" else (0.35 if g.segment == "hair" else 0.85)
            kind = {"shoes": "leather", "hair": "hair"}.get(g.segment, "fabric")
            out.append(SurfaceMesh(
                name=f"synth_person_{self.instance_id}_garment{j}_{g.name.replace('/', '_')}",
                faces=np.asarray(g.faces, np.int32), n_vertices=g.n_vertices,
                material=MaterialSpec(kind=kind, roughness=rough),
                instance_id=self.instance_id, segment_id=SEGMENT_INDEX[g.segment], vertex_colors=col))
        return out

    def frame_vertices(self, t: int) -> list[np.ndarray]:
        """(V, 3) float32 world metres per mesh of ``surface_meshes()``, at frame ``t``."""
        return [self.posed.vertices[t], *(gv[t] for gv in self.garment_vertices)]


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
        """Everything the renderer draws besides the world, ground and lights, in a fixed order:
        the people's meshes, then the room and the props (static, instance id 0)."""
        return [m for p in self.people for m in p.surface_meshes()] + environment_surface_meshes(self.spec.environment)

    def frame_vertices(self, t: int) -> list[np.ndarray | None]:
        """Per mesh of ``surface_meshes()``: (V, 3) float32 world metres at frame ``t`` (None for static meshes)."""
        statics = len(compute_static_meshes(self.spec.environment))
        return [v for p in self.people for v in p.frame_vertices(t)] + [None] * statics


def environment_surface_meshes(env: EnvironmentSpec) -> list[SurfaceMesh]:
    """The room parts and props as static renderer meshes (instance id 0, flat shading), in a fixed order."""
    return [SurfaceMesh(name=f"synth_{m.name}", faces=m.faces, n_vertices=int(len(m.vertices)), material=m.material,
                        instance_id=0, vertices=m.vertices, smooth=False)
            for m in compute_static_meshes(env)]


def compute_appearance(body: BodyModel, person: PersonSpec) -> PersonAppearance:
    """Paint the person's drawn outfit on its body (deterministic: the outfit holds every draw)."""
    regions = compute_body_regions(body, person.shape)
    return PersonAppearance(vertex_colors=compute_vertex_colors(regions, person.outfit),
                            roughness=float(person.outfit.roughness))


def dress_person(body: BodyModel, person: PersonSpec, posed: PosedBody
                 ) -> tuple[tuple[Garment, ...], tuple[np.ndarray, ...], tuple[np.ndarray, ...], PersonAppearance]:
    """Build the person's drawn garments, pose them at every frame and colour them (deterministic).

    Returns (garments, per garment (T, N, 3) vertices, per garment (N, 3) colours, the body's appearance:
    skin with the garments' colours under them)."""
    from synth.clothing.garment import pose_garments_frames
    from synth.clothing.looks import compute_dressed_body_colors, compute_garment_colors, garment_base_color
    from synth.clothing.outfit import build_garments
    from synth.clothing.procedural import compute_rest_body

    rest = compute_rest_body(body, person.shape)      # the rest body the garments are built on, with its normals
    garments = build_garments(body, person.shape, person.garments, rest=rest)
    verts = pose_garments_frames(garments, posed.vertices, body.faces)
    colors = []
    for g, s in zip(garments, person.garments):
        base = garment_base_color(g, person.outfit, s.look)
        colors.append(compute_garment_colors(g.binding.evaluate(rest.vertices, rest.faces, rest.normals), base, s.look))
    body_rgb = compute_dressed_body_colors(body, person.shape, person.outfit, garments, colors)
    return (tuple(garments), tuple(verts), tuple(colors),
            PersonAppearance(vertex_colors=body_rgb, roughness=float(person.outfit.roughness)))


def build_posed_scene(spec: SceneSpec) -> PosedScene:
    """Pose every person (and their garments) at every frame, compute their looks and every view's camera track
    (no randomness)."""
    people = []
    for k, p in enumerate(spec.people):
        body = load_body(p.body_model, p.body_options)
        posed = body.forward(person_params(p))
        if p.garments:
            garments, gverts, gcols, appearance = dress_person(body, p, posed)
            people.append(PosedPerson(index=k, spec=p, body=body, posed=posed, appearance=appearance,
                                      garments=garments, garment_vertices=gverts, garment_colors=gcols))
        else:
            people.append(PosedPerson(index=k, spec=p, body=body, posed=posed,
                                      appearance=compute_appearance(body, p)))
    tracks = compute_camera_tracks(spec, [p.posed for p in people])
    return PosedScene(spec=spec, people=tuple(people), camera_tracks=tuple(tracks))
