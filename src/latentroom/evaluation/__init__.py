"""Codec evaluation: spectral distances, onset preservation, a Griffin-Lim baseline, reports."""
