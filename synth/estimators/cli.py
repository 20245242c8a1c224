"""``synth train TASK``, ``synth evaluate TASK`` and ``synth predict TASK`` for the bundled estimators (registered
by ``add_commands``):
each task's ``cli`` module adds its own parser (``keypoints2d``, ``camera``, ``contact``, ``mesh``).

torch is imported only when a command runs, so ``synth --help`` stays fast.
"""

from __future__ import annotations

from synth.estimators import predict_cli
from synth.estimators.camera_calib import cli as camera_cli
from synth.estimators.contact import cli as contact_cli
from synth.estimators.keypoints2d import cli as keypoints2d_cli
from synth.estimators.mesh import cli as mesh_cli

#: The tasks, in the order ``synth train --help`` lists them.
TASK_CLIS = (keypoints2d_cli, camera_cli, contact_cli, mesh_cli)


def add_commands(subparsers) -> None:
    """Add ``train`` and ``evaluate`` (each with the ``keypoints2d``, ``camera``, ``contact`` and ``mesh`` tasks) to
    the ``synth`` subcommands."""
    p_train = subparsers.add_parser("train", help="train a bundled estimator on synth datasets")
    tsub = p_train.add_subparsers(dest="task", required=True)
    p_eval = subparsers.add_parser("evaluate", help="evaluate a trained estimator on synth datasets")
    esub = p_eval.add_subparsers(dest="task", required=True)
    for task_cli in TASK_CLIS:
        task_cli.add_task_commands(tsub, esub)
    predict_cli.add_commands(subparsers)
