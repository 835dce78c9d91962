"""Pure PyTorch models, Gaussian helpers and training schedules."""
