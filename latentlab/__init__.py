"""latentlab: explore and train variational auto-encoders.

    from latentlab import VAE, load_checkpoint, save_checkpoint
"""

__version__ = "0.1.0"

from .core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint  # noqa: E402
from .core.models import VAE, VAEConfig  # noqa: E402

__all__ = ["VAE", "VAEConfig", "load_checkpoint", "save_checkpoint", "CheckpointError", "__version__"]
