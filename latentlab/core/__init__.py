"""The Qt-free core: models, objectives, data, trainer and checkpoints (shared by CLI, GUI, tests)."""
