"""Renderer protocol; Blender (``render/blender``) and pyrender previews (``render/preview``)."""
