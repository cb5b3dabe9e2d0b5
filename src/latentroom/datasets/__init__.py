"""Data latentroom makes itself: synthetic sound families and corpus folders."""
