"""latentlab: explore and train variational auto-encoders.

    from latentlab import VAE, load_checkpoint, save_checkpoint

The names below load on first use (PEP 562 `__getattr__`), not on `import latentlab`: they need
torch, which takes seconds to import, and the app shows its first picture before torch is in
(latentlab.core.torchless, latentlab.gui.first_look).
"""

__version__ = "0.1.0"

_LAZY = {
    "CheckpointError": "latentlab.core.checkpoint",
    "load_checkpoint": "latentlab.core.checkpoint",
    "save_checkpoint": "latentlab.core.checkpoint",
    "VAE": "latentlab.core.models",
    "VAEConfig": "latentlab.core.models",
}

__all__ = ["VAE", "VAEConfig", "load_checkpoint", "save_checkpoint", "CheckpointError", "__version__"]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value      # found directly next time
    return value


def __dir__():
    return sorted([*globals(), *_LAZY])
