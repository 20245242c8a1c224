"""One worker: scenes end to end (spec -> geometry -> render + labels -> shard).

A ``SceneWorker`` holds one persistent renderer (one Blender per process) and
the body models it has loaded; Ray actors and the local runner both use it.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import defaultdict
from dataclasses import asdict
from typing import Any

import numpy as np

from synth.core.errors import SynthError
from synth.core.rng import scene_seed_int
from synth.groundtruth.contact import SceneContactIndex, compute_contact_labels
from synth.groundtruth.labels import PersonFrameGeometry, compute_view_labels
from synth.io import fs
from synth.io.manifest import ShardRecord
from synth.io.shards import (
    BodyTopology,
    PersonData,
    SceneData,
    ViewData,
    sha256_file,
    shard_name,
    write_shard,
)
from synth.pipeline.geometry import load_body, person_params
from synth.pipeline.posed_scene import build_posed_scene
from synth.recipe.sample import sample_render_spec, sample_scene
from synth.recipe.schema import Recipe
from synth.recipe.spec import SceneSpec


class SceneError(SynthError):
    """A scene failed; carries its index and seeds so it can be reproduced."""

    def __init__(self, scene_index: int, job_seed: int, cause: BaseException):
        self.scene_index = scene_index
        self.job_seed = job_seed
        self.seed = scene_seed_int(job_seed, scene_index)
        self.cause = cause
        super().__init__(f"scene {scene_index} (job seed {job_seed}, scene seed {self.seed}) failed: "
                         f"{type(cause).__name__}: {cause}")


def pin_math_threads() -> None:
    """Run numpy's BLAS and torch on one thread in this process.

    Multi-threaded reductions sum in an order that depends on the thread count, so float labels
    would differ in the last bits between a 2-core laptop and a 1-CPU Ray worker, and a visibility
    decision on a boundary could flip. One thread makes every label bit-identical wherever a scene
    is rendered; the math is small next to the render (Cycles keeps its own threads).
    """
    import torch
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    torch.set_num_threads(1)


class SceneWorker:
    """Renders scenes of one recipe into shards. Not thread-safe; one per process."""

    def __init__(self, recipe: Recipe, out: str, renderer=None):
        pin_math_threads()
        self.recipe = recipe
        self.out = str(out)
        self._renderer = renderer
        self.timings_s: dict[str, float] = defaultdict(float)
        self.scenes_done = 0

    @property
    def renderer(self):
        if self._renderer is None:
            from synth.render.blender.renderer import BlenderRenderer

            render = sample_render_spec(self.recipe)
            self._renderer = BlenderRenderer(threads=render.threads, device=render.device)
        return self._renderer

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def _tick(self, key: str, t0: float) -> float:
        t1 = time.perf_counter()
        self.timings_s[key] += t1 - t0
        return t1

    def run_scene(self, scene_index: int) -> SceneData:
        try:
            return self._run_scene(scene_index)
        except SceneError:
            raise
        except Exception as err:  # report with the scene id and seed
            raise SceneError(scene_index, self.recipe.seed, err) from err

    def _run_scene(self, scene_index: int) -> SceneData:
        t0 = time.perf_counter()
        spec: SceneSpec = sample_scene(self.recipe, scene_index)
        t0 = self._tick("sampling", t0)
        scene = build_posed_scene(spec)
        posed = [p.posed for p in scene.people]
        faces = [p.faces for p in scene.people]
        t0 = self._tick("body_forward", t0)
        renderer = self.renderer
        renderer.setup_scene(spec.environment, scene.surface_meshes(), spec.render)
        t0 = self._tick("render", t0)
        views = []
        for cam_spec, track in zip(spec.cameras, scene.camera_tracks):
            rgbs, insts, depths, segments, labels_t = [], [], [], [], []
            for t in range(spec.frames):
                t0 = time.perf_counter()
                cam_t = track.at(t)
                out = renderer.render(cam_t, scene.frame_vertices(t), seed=(spec.seed + t) % (2**31))
                t0 = self._tick("render", t0)
                geo = [PersonFrameGeometry(p.vertices[t], p.joints[t], p.keypoints[t], f,
                                           tuple((gv[t], g.faces) for g, gv in zip(pp.garments, pp.garment_vertices)))
                       for p, f, pp in zip(posed, faces, scene.people)]
                labels = compute_view_labels(cam_t, geo, out.instance, out.depth_m)
                labels["root_distance_m"] = np.array(
                    [np.linalg.norm(cam_t.center_world - p.joints[t][0]) for p in posed], dtype=np.float32)
                labels_t.append(labels)
                rgbs.append(out.rgb)
                insts.append(out.instance)
                depths.append(out.depth_m)
                segments.append(out.segment)
                self._tick("ground_truth", t0)
            views.append(ViewData(
                name=cam_spec.name, model=cam_spec.model, rig=cam_spec.rig, width=spec.width, height=spec.height,
                params={**cam_spec.params, "rig_meta": track.meta},
                K=np.repeat(track.camera.K[None], spec.frames, axis=0),
                dist=np.repeat(track.camera.dist[None], spec.frames, axis=0),
                T_cam_from_world=track.T_cam_from_world,
                rgb=rgbs, instance=np.stack(insts), depth_m=np.stack(depths),
                segment=None if any(sg is None for sg in segments) else np.stack(segments),
                labels={k: np.stack([lt[k] for lt in labels_t]) for k in labels_t[0]},
            ))
        t0 = time.perf_counter()
        # static meshes (props, room) are the scene objects; contact_scene holds their index in surface_meshes order
        static = [m for m in scene.surface_meshes() if m.vertices is not None]
        contact = compute_contact_labels(
            [p.vertices for p in posed], faces, [pp.body for pp in scene.people],
            SceneContactIndex([(m.vertices, m.faces, i, m.name) for i, m in enumerate(static)]) if static else None)
        contact_ground = [c.pop("contact_ground") for c in contact]
        contact_person = [c.pop("contact_person") for c in contact]
        self._tick("ground_truth", t0)
        people = [PersonData(
            body_model=p.body_model, body_options=p.body_options, motion={"source": p.motion_source, **p.motion_meta},
            shape=p.shape, pose_rotvec=p.pose_rotvec, T_world_from_root=p.T_world_from_root,
            vertices_world=pp.posed.vertices, joints_world=pp.posed.joints, keypoints_world=pp.posed.keypoints,
            extra=pp.body.compute_native_params(person_params(p)),
            contact_ground=cg, contact_person=cp, contact_more=cm, clothing=[g.to_dict() for g in p.garments],
        ) for p, pp, cg, cp, cm in zip(spec.people, scene.people, contact_ground, contact_person, contact)]
        self.scenes_done += 1
        return SceneData(scene_index=spec.scene_index, scene_id=spec.scene_id, seed=spec.seed, frames=spec.frames,
                         fps=spec.fps, width=spec.width, height=spec.height,
                         environment=asdict(spec.environment) | ({"contact_objects": [m.name for m in static]}
                                                                 if static else {}),
                         people=people, views=views)

    def run_shard(self, shard_index: int, scene_indices: list[int]) -> ShardRecord:
        """Render the scenes and publish ``OUT/shards/shard-XXXXXX.h5`` atomically; return its record."""
        import synth

        t_start = time.perf_counter()
        scenes = [self.run_scene(i) for i in scene_indices]
        t0 = time.perf_counter()
        topo: dict[str, BodyTopology] = {}
        for s in scenes:
            for p in s.people:
                if p.body_model not in topo:
                    b = load_body(p.body_model, p.body_options)
                    topo[p.body_model] = BodyTopology(p.body_model, b.faces, list(b.joint_names),
                                                      np.asarray(b.joint_parents), list(b.keypoint_names))
        name = shard_name(shard_index)
        scratch = fs.local_scratch_dir(self.out)
        tmp = os.path.join(scratch, f"{name}.{os.getpid()}.tmp")
        try:
            write_shard(tmp, shard_index, scenes, list(topo.values()), synth.__version__)
            digest = sha256_file(tmp)
            size = os.path.getsize(tmp)
            fs.publish_file(tmp, fs.join(self.out, "shards", name))
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
            if fs.is_remote(self.out):
                shutil.rmtree(scratch, ignore_errors=True)
        self._tick("writing", t0)
        n_frames = sum(s.frames * len(s.views) for s in scenes)
        return ShardRecord(name=name, shard_index=shard_index, sha256=digest, bytes=size,
                           scene_indices=list(map(int, scene_indices)), n_scenes=len(scenes), n_frames=n_frames,
                           seconds=time.perf_counter() - t_start)

    def stats(self) -> dict[str, Any]:
        return {"scenes_done": self.scenes_done, "timings_s": dict(self.timings_s)}
