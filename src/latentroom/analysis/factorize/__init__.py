"""Phase 3: factorize a frozen codec's latents into a predictable state and a local innovation."""
