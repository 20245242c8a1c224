"""Shard writer/reader, manifest, overlays. ``open_dataset(OUT)`` iterates frames with images and labels."""


def open_dataset(out: str, verify: bool = False):
    from synth.io.reader import open_dataset as _open

    return _open(out, verify=verify)


__all__ = ["open_dataset"]
