"""Phase 4: an Engram-style hashed n-gram memory for a dynamics model, at matched parameters."""
