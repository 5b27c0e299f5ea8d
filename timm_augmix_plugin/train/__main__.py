"""``python -m timm_augmix_plugin.train`` / ``accelerate launch -m timm_augmix_plugin.train``."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
