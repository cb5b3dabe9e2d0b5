"""Latent predictability analyses: Phase 0 clustering and Phase 1 probabilistic predictors."""
