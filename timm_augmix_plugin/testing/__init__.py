"""Test oracles: straightforward reference implementations that the fast paths are checked against.

Nothing in the package's own code paths imports this subpackage; tests and ``benchmarks/`` do.

* :func:`apply_op_reference` (:mod:`.augmix_reference`): the AugMix ops through PIL's own calls only.
* :func:`reference_corrupt` (:mod:`.corruption_reference`): the -C corruptions per image, step by step as the
  reference generators (needs OpenCV and scikit-image, imported when it runs).
* :func:`reference_sequence` (:mod:`.perturbation_reference`): the CIFAR-10-P sequences per image, block by block as
  the reference generator (needs OpenCV and scikit-image, imported when it runs).
"""
from __future__ import annotations

from .augmix_reference import apply_op_reference
from .corruption_reference import reference_corrupt
from .perturbation_reference import reference_sequence

__all__ = ["apply_op_reference", "reference_corrupt", "reference_sequence"]
