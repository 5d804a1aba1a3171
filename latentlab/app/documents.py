"""The window's document, a checkpoint file: reading it whole before the window changes, saving a
copy of one, and the line that says what was opened. No Qt (the main window calls these).
"""

from __future__ import annotations

from pathlib import Path

from latentlab.core.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from latentlab.core.model_kinds import describe_model
from latentlab.core.pipeline import DataSpec
from latentlab.core.trainer import History


def read_checkpoint(path: Path) -> tuple[Checkpoint, History]:
    """Everything opening a file needs that can fail, done before the window changes at all."""
    ckpt = load_checkpoint(path)
    try:
        history = History.from_dict(ckpt.history)
        if ckpt.data:
            DataSpec.from_dict(ckpt.data)   # the training panel shows these
    except (ValueError, TypeError, KeyError) as e:
        raise CheckpointError(f"{path} is a damaged latentlab checkpoint: {e}") from e
    return ckpt, history


def save_checkpoint_copy(ckpt: Checkpoint, path: Path) -> str | None:
    """Save an opened checkpoint again at `path` (GUI thread; no trainer runs); an error in words, or None."""
    try:
        save_checkpoint(path, ckpt.model, train_config=ckpt.train_config, data=ckpt.data, history=ckpt.history,
                        optimizer_state=ckpt.optimizer_state, trainer_state=ckpt.trainer_state, extras=ckpt.extras)
        return None
    except CheckpointError as e:
        return str(e)


def opened_message(path: Path, ckpt: Checkpoint) -> str:
    """'Opened m2.pt: M2 with a 2-D style z on mnist, 1 epochs (390 steps)' (or '2-D mlp VAE on ...')."""
    done, steps = int(ckpt.trainer_state.get("epoch", 0)), ckpt.trainer_state.get("step", 0)
    return (f"Opened {Path(path).name}: {describe_model(ckpt.model)} on {ckpt.data.get('dataset', '?')}, "
            f"{done} epochs ({steps:,} steps)")
