"""Small shared utilities, imported from their modules (``from timm_augmix_plugin.utils.seeds import mix_seed``).

``checkpoints`` (the weights loader), ``seeds`` (every seed derivation), ``clean_data`` (the clean-dataset opener),
``cpu_processes``, ``errors``, ``figures``, ``images`` (strict reading and the RGB policy), ``outputs``,
``packed_images``, ``run_lock``, ``weights_hash``. The package itself exports nothing, so importing one utility never
imports the others.
"""

__all__: list[str] = []
