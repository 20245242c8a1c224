"""Distributed generation on Ray: the only package that imports ``ray``.

Same work as ``synth.pipeline.job.run_local`` (same shard plan, same manifest,
same ``SceneWorker``), scheduled over Ray actors, one Blender per actor:

- ``synth.distributed.local.run_on_local_ray``: an embedded, loopback-only Ray
  on this machine (``synth generate --workers N``).
- ``synth.distributed.driver``: the entrypoint of a Ray Job on a cluster
  (``synth submit``); connects with ``ray.init(address="auto")``.
- ``synth.distributed.scheduler``: the scheduling loop both use (actor pool,
  bounded work in flight, retries, recycling, driver-only manifest writes).
- ``synth.distributed.jobs``: the Ray Jobs API client side (submit, status,
  logs, stop); ``synth.distributed.cli`` registers the commands.

Importing this package (or ``policy``, ``progress``, ``cli``, ``jobs``) does not
import ``ray``; the modules that need it import it when used.
"""
