"""Ray-free, MLflow-free training tasks: train an epoch, evaluate, sample."""
