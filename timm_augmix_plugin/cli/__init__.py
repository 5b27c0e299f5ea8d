"""The ``timm-augmix`` command line."""
