"""Fixtures for the Qt-free app tests: small deterministic models and an explorer on inline runners."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from latentlab import VAE, VAEConfig


@pytest.fixture
def make_model():
    """VAE factory: untrained but deterministic (seeded), built in milliseconds for any shape."""

    def make(latent_dim: int = 2, image_shape=(1, 28, 28), seed: int = 0, likelihood: str = "bernoulli") -> VAE:
        torch.manual_seed(seed)
        config = VAEConfig(latent_dim=latent_dim, image_shape=tuple(image_shape), hidden_sizes=(64,),
                           likelihood=likelihood)
        return VAE(config).eval()

    return make


@pytest.fixture
def explorer():
    """`.state`: an ExplorerState; `.work`: its ExplorerWork on inline runners (every job is done
    before `submit` returns); `.messages`: the status messages sent."""
    from latentlab.app.explorer_state import ExplorerState
    from latentlab.app.explorer_work import ExplorerWork
    from latentlab.app.job_queue import InlineRunner

    state = ExplorerState()
    messages: list[str] = []
    state.events.message.connect(messages.append)
    return SimpleNamespace(state=state, work=ExplorerWork(state, InlineRunner(), InlineRunner()), messages=messages)
