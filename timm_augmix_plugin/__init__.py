"""AugMix for timm: paper-faithful transforms, the JSD consistency loss, the paper's CIFAR models,
-C corruption benchmarks and Hub model cards.

Importing the package installs its hooks into timm (see :func:`install`); :func:`uninstall` removes them.
"""
from ._hooks import install as install
from ._hooks import is_installed as is_installed
from ._hooks import uninstall as uninstall

__version__ = "0.1.0"

install()
