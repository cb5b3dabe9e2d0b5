"""Exports of latentroom models to other hosts (nn~ TorchScript for Pure Data and Max)."""
