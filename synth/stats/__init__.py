"""``synth stats OUT``: what a dataset holds, from its labels only (plots + a Markdown dataset card)."""

from synth.stats.collect import DatasetStats, collect_stats
from synth.stats.report import write_report

__all__ = ["DatasetStats", "collect_stats", "write_report"]
