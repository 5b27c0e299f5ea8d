"""The plugin's training recipes (YAML), installed with the package as ``timm_augmix_plugin.recipes``.

``--recipe NAME`` (no ``.yaml``, no folder) loads ``NAME.yaml`` from here, so the recipes work without a checkout.
"""
