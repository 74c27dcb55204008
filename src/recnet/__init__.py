"""recnet: the data-exchange service of the Central Asia Regional Expert Council."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("recnet")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
