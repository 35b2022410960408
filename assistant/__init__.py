"""Chat assistant for the documents of the Ruhr region's education initiatives."""

__version__ = "0.1.0"
