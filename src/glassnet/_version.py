"""glassnet's version, in a module of its own at the bottom of the layer order, so that any
module (io writes it into model files) can read it without importing the package."""

__version__ = "0.1.0"
