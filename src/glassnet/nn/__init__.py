"""Modules (layers) with learnable parameters."""
