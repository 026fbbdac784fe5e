"""BeCoin: the blog's blockchain node, built to be depended on."""

__version__ = "0.1.0"
