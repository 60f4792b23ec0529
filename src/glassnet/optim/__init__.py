"""Optimizers, gradient clipping and penalties."""
