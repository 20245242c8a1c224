"""External assets: ids, licences and where user-supplied files live (``assets_manifest/*.yaml``)."""

from synth.assets.manifest import AssetEntry, AssetFile, AssetStatus, check_assets, load_manifest

__all__ = ["AssetEntry", "AssetFile", "AssetStatus", "check_assets", "load_manifest"]
