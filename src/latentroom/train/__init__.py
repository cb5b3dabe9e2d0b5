"""Training of latentroom's own models (the built-in codec: ``train_codec``)."""
