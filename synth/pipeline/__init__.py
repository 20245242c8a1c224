"""From a drawn scene to labelled shards: build_posed_scene (the one place a spec becomes meshes), the worker (render + labels -> shard), local jobs and the preview."""
