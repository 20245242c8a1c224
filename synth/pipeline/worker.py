"""One worker: scenes end to end (spec -> geometry -> render + labels -> shard).

A ``SceneWorker`` holds one persistent renderer (one Blender per process) and
the body models it has loaded; Ray actors and the local runner both use it.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import time
from collections import defaultdict
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from synth.core.errors import SynthError
from synth.core.rng import scene_seed_int
from synth.groundtruth.contact import (
    SceneContactIndex,
    compute_contact_labels,
    geodesic_bound_for,
)
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
from synth.pipeline.posed_scene import PosedScene, build_posed_scene
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


@dataclass
class _PreparedScene:
    """Everything of one scene that does not need the render: spec, posed meshes, contact labels, people."""

    spec: SceneSpec
    scene: PosedScene
    static: list                      # static SurfaceMesh items (contact objects), in surface_meshes order
    people: list[PersonData]


class _BackgroundLane:
    """One daemon thread that runs submitted calls in order (FIFO) and hands back ``Future`` objects.

    Cycles releases the GIL while it renders, so work queued here runs while the main thread waits in
    ``bpy.ops.render.render``. A daemon thread: a killed or interrupted process never waits for it (nothing
    it computes is written by it; shards are written by the main thread only).
    """

    def __init__(self) -> None:
        self.cpu_s = 0.0      # CPU seconds this thread spent in submitted calls (time.thread_time)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="synth-labels", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fut, fn, args = item
            if not fut.set_running_or_notify_cancel():
                continue
            c0 = time.thread_time()
            try:
                result = fn(*args)
            except BaseException as err:  # noqa: BLE001 - handed to whoever waits on the future
                self.cpu_s += time.thread_time() - c0
                fut.set_exception(err)
            else:
                self.cpu_s += time.thread_time() - c0
                fut.set_result(result)

    def submit(self, fn, *args) -> Future:
        fut: Future = Future()
        self._queue.put((fut, fn, args))
        return fut

    def close(self) -> None:
        """Cancel what has not started, let the running call finish, stop the thread."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[0].cancel()
        self._queue.put(None)
        self._thread.join()


class SceneWorker:
    """Renders scenes of one recipe into shards. Not thread-safe; one per process.

    ``pipeline=True`` (the default) overlaps the CPU work with the render: while Cycles renders (it releases
    the GIL), one background thread computes the next scene's spec, posed meshes and contact labels and the
    view labels of frames already rendered. Only the main thread touches Blender and writes files, and every
    computed value is a pure function of the scene's spec and its rendered passes, so the shards are byte for
    byte those of ``pipeline=False`` (``tests/test_pipelined_worker.py``); an error anywhere is raised as the
    ``SceneError`` of the first failing scene, as the serial path would.
    """

    def __init__(self, recipe: Recipe, out: str, renderer=None, pipeline: bool = True):
        pin_math_threads()
        self.recipe = recipe
        self.out = str(out)
        self.pipeline = bool(pipeline)
        self._renderer = renderer
        self._lane: _BackgroundLane | None = None
        self._prefetched: tuple[int, Future] | None = None   # (scene index, its _prepare) for the next call
        self.background_cpu_s = 0.0   # CPU seconds of the background thread (lanes closed so far)
        self._timing_lock = threading.Lock()
        self.timings_s: dict[str, float] = defaultdict(float)
        self.scenes_done = 0

    @property
    def renderer(self):
        if self._renderer is None:
            from synth.render.blender.renderer import BlenderRenderer

            render = sample_render_spec(self.recipe)
            self._renderer = BlenderRenderer(threads=render.threads, device=render.device)
        return self._renderer

    def _close_lane(self) -> None:
        self._prefetched = None
        if self._lane is not None:
            self._lane.close()
            self.background_cpu_s += self._lane.cpu_s
            self._lane = None

    def close(self, keep_renderer: bool = False) -> None:
        """Stop the background thread and close the renderer (unless ``keep_renderer``: another worker reuses it)."""
        self._close_lane()
        if self._renderer is not None and not keep_renderer:
            self._renderer.close()
            self._renderer = None

    def warm_up(self) -> None:
        """Build what every scene of this recipe reuses (the body model and its self-contact geodesics), so the
        first scene does not pay for it. Optional: scenes build them on first use anyway."""
        from synth.recipe.sample import body_options

        body = load_body(self.recipe.people.body_model, body_options(self.recipe))
        geodesic_bound_for(body)

    def _tick(self, key: str, t0: float) -> float:
        t1 = time.perf_counter()
        with self._timing_lock:
            self.timings_s[key] += t1 - t0
        return t1

    def run_scene(self, scene_index: int) -> SceneData:
        return self.run_scenes([scene_index])[0]

    def run_scenes(self, scene_indices: list[int], next_scene: int | None = None) -> list[SceneData]:
        """The scenes, in order (pipelined unless ``pipeline=False``).

        next_scene : the scene the next call will start with, when the caller knows it (the local runner does):
        pipelined, it is prepared in the background while the last scene here renders. A wrong guess costs
        only that CPU work; the next call prepares what it is actually given."""
        if not self.pipeline:
            return [self._wrap(i, self._run_scene_serial, i) for i in scene_indices]
        return self._run_scenes_pipelined(list(scene_indices), next_scene)

    def _wrap(self, scene_index: int, fn, *args):
        try:
            return fn(*args)
        except SceneError:
            raise
        except Exception as err:  # report with the scene id and seed
            raise SceneError(scene_index, self.recipe.seed, err) from err

    # ---- the steps (serial and pipelined paths call the same functions) ------------------------------------------

    def _prepare(self, scene_index: int) -> _PreparedScene:
        """Spec, posed meshes, contact labels and the people's data of one scene (no Blender)."""
        t0 = time.perf_counter()
        spec: SceneSpec = sample_scene(self.recipe, scene_index)
        t0 = self._tick("sampling", t0)
        scene = build_posed_scene(spec)
        t0 = self._tick("body_forward", t0)
        posed = [p.posed for p in scene.people]
        faces = [p.faces for p in scene.people]
        # static meshes (props, room) are the scene objects; contact_scene holds their index in surface_meshes order
        static = [m for m in scene.surface_meshes() if m.vertices is not None]
        contact = compute_contact_labels(
            [p.vertices for p in posed], faces, [pp.body for pp in scene.people],
            SceneContactIndex([(m.vertices, m.faces, i, m.name) for i, m in enumerate(static)]) if static else None)
        contact_ground = [c.pop("contact_ground") for c in contact]
        contact_person = [c.pop("contact_person") for c in contact]
        people = [PersonData(
            body_model=p.body_model, body_options=p.body_options, motion={"source": p.motion_source, **p.motion_meta},
            shape=p.shape, pose_rotvec=p.pose_rotvec, T_world_from_root=p.T_world_from_root,
            vertices_world=pp.posed.vertices, joints_world=pp.posed.joints, keypoints_world=pp.posed.keypoints,
            extra=pp.body.compute_native_params(person_params(p)),
            contact_ground=cg, contact_person=cp, contact_more=cm, clothing=[g.to_dict() for g in p.garments],
        ) for p, pp, cg, cp, cm in zip(spec.people, scene.people, contact_ground, contact_person, contact)]
        self._tick("ground_truth", t0)
        return _PreparedScene(spec=spec, scene=scene, static=static, people=people)

    def _render_frame(self, prep: _PreparedScene, track, t: int):
        """Cycles render of one view at frame ``t`` (main thread); returns (camera, RenderOutput)."""
        t0 = time.perf_counter()
        cam_t = track.at(t)
        out = self.renderer.render(cam_t, prep.scene.frame_vertices(t), seed=(prep.spec.seed + t) % (2**31))
        self._tick("render", t0)
        return cam_t, out

    def _frame_labels(self, prep: _PreparedScene, cam_t, out, t: int, bvh_cache: dict) -> dict[str, np.ndarray]:
        """The view labels of one rendered frame (no Blender)."""
        t0 = time.perf_counter()
        geo = [PersonFrameGeometry(pp.posed.vertices[t], pp.posed.joints[t], pp.posed.keypoints[t], pp.faces,
                                   tuple((gv[t], g.faces) for g, gv in zip(pp.garments, pp.garment_vertices)))
               for pp in prep.scene.people]
        labels = compute_view_labels(cam_t, geo, out.instance, out.depth_m, bvh_cache=bvh_cache)
        labels["root_distance_m"] = np.array(
            [np.linalg.norm(cam_t.center_world - pp.posed.joints[t][0]) for pp in prep.scene.people], dtype=np.float32)
        self._tick("ground_truth", t0)
        return labels

    def _setup(self, prep: _PreparedScene) -> None:
        t0 = time.perf_counter()
        self.renderer.setup_scene(prep.spec.environment, prep.scene.surface_meshes(), prep.spec.render)
        self._tick("render", t0)

    def _assemble(self, prep: _PreparedScene, frames: list[list[tuple]]) -> SceneData:
        """SceneData from the prepared scene and, per view, per frame (camera, RenderOutput, labels)."""
        spec, scene = prep.spec, prep.scene
        views = []
        for cam_spec, track, per_t in zip(spec.cameras, scene.camera_tracks, frames):
            outs = [o for _, o, _ in per_t]
            labels_t = [lab for _, _, lab in per_t]
            views.append(ViewData(
                name=cam_spec.name, model=cam_spec.model, rig=cam_spec.rig, width=spec.width, height=spec.height,
                params={**cam_spec.params, "rig_meta": track.meta},
                K=np.repeat(track.camera.K[None], spec.frames, axis=0),
                dist=np.repeat(track.camera.dist[None], spec.frames, axis=0),
                T_cam_from_world=track.T_cam_from_world,
                rgb=[o.rgb for o in outs], instance=np.stack([o.instance for o in outs]),
                depth_m=np.stack([o.depth_m for o in outs]),
                segment=None if any(o.segment is None for o in outs) else np.stack([o.segment for o in outs]),
                labels={k: np.stack([lt[k] for lt in labels_t]) for k in labels_t[0]},
            ))
        self.scenes_done += 1
        return SceneData(scene_index=spec.scene_index, scene_id=spec.scene_id, seed=spec.seed, frames=spec.frames,
                         fps=spec.fps, width=spec.width, height=spec.height,
                         environment=asdict(spec.environment) | ({"contact_objects": [m.name for m in prep.static]}
                                                                 if prep.static else {}),
                         people=prep.people, views=views)

    # ---- serial: one step after the other ------------------------------------------------------------------------

    def _run_scene_serial(self, scene_index: int) -> SceneData:
        prep = self._prepare(scene_index)
        self._setup(prep)
        return self._assemble(prep, self._render_views(prep, lambda fn, *args: fn(*args)))

    def _render_views(self, prep: _PreparedScene, run_labels) -> list[list[tuple]]:
        """Render every view and frame of a prepared scene (main thread); per view, per frame
        (camera, RenderOutput, ``run_labels(self._frame_labels, ...)``): the labels themselves (serial) or a
        Future of them (``run_labels`` = the background lane's submit)."""
        frames = []
        for track in prep.scene.camera_tracks:
            bvh_cache: dict = {}   # one view's ray-casting trees, refitted across its frames
            per_t = []
            for t in range(prep.spec.frames):
                cam_t, out = self._render_frame(prep, track, t)
                per_t.append((cam_t, out, run_labels(self._frame_labels, prep, cam_t, out, t, bvh_cache)))
            frames.append(per_t)
        return frames

    # ---- pipelined: CPU work on the background lane while Cycles renders -------------------------------------------

    def _run_scenes_pipelined(self, scene_indices: list[int], next_scene: int | None) -> list[SceneData]:
        if self._lane is None:
            self._lane = _BackgroundLane()
        lane = self._lane
        # per scene: (index, prepared scene, per view per frame (camera, RenderOutput, labels Future))
        pending: list[tuple[int, _PreparedScene, list[list[tuple]]]] = []

        def collect(prep: _PreparedScene, frames: list[list[tuple]]) -> SceneData:
            return self._assemble(prep, [[(c, o, f.result()) for c, o, f in per_t] for per_t in frames])

        def finish() -> list[SceneData]:
            """Wait for the labels of the pending scenes, in order; the first error is raised as that scene's
            SceneError."""
            return [self._wrap(i, collect, prep, frames) for i, prep, frames in pending]

        def prepared(i: int) -> Future:
            if self._prefetched is not None and self._prefetched[0] == i:
                return self._prefetched[1]
            return lane.submit(self._prepare, i)

        try:
            next_prep = prepared(scene_indices[0]) if scene_indices else None
            self._prefetched = None            # a prefetch for another scene is dropped (its result is never used)
            for n, i in enumerate(scene_indices):
                try:
                    prep = next_prep.result()
                    if n + 1 < len(scene_indices):
                        next_prep = lane.submit(self._prepare, scene_indices[n + 1])
                    elif next_scene is not None:    # the next call's first scene, prepared while this one renders
                        self._prefetched = (int(next_scene), lane.submit(self._prepare, int(next_scene)))
                    self._setup(prep)
                    frames = self._render_views(prep, lane.submit)
                except Exception as err:
                    finish()                      # an earlier scene's error comes first, as in the serial path
                    if isinstance(err, SceneError):
                        raise
                    raise SceneError(i, self.recipe.seed, err) from err
                pending.append((i, prep, frames))
            return finish()
        except BaseException:
            # a failed or interrupted run: drop the queued work (a new lane serves the next call)
            self._prefetched = None
            self._close_lane()
            raise

    def run_shard(self, shard_index: int, scene_indices: list[int], next_scene: int | None = None) -> ShardRecord:
        """Render the scenes and publish ``OUT/shards/shard-XXXXXX.h5`` atomically; return its record.

        next_scene : the first scene of the caller's next shard, if known (see ``run_scenes``)."""
        import synth

        t_start = time.perf_counter()
        scenes = self.run_scenes(scene_indices, next_scene)
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
        """Scenes done and seconds per stage. Pipelined, the stages run on two threads at once (sampling,
        body_forward and ground_truth on the background thread, render on the main one), so they add up to more
        than the wall time; ``background_cpu_s`` is the background thread's CPU time."""
        cpu = self.background_cpu_s + (self._lane.cpu_s if self._lane is not None else 0.0)
        return {"scenes_done": self.scenes_done, "timings_s": dict(self.timings_s), "pipeline": self.pipeline,
                "background_cpu_s": cpu}
