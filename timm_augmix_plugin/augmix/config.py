"""The ``augmix_paper`` policy string: parsing and validation into an :class:`AugMixConfig`.

Grammar (tokens joined by ``-``, any order after the name)::

    augmix_paper[-s<severity>][-w<width>][-d<depth>|-d-1|-drand][-a<alpha>][-all][-in][-fill<0..255>]

=========  =======================================================================  ==========================
token      meaning                                                                  default
=========  =======================================================================  ==========================
``s3``     severity, 1..10; each op's level is drawn uniformly in [0.1, severity)   3 (1 with ``in``)
``w3``     width: number of augmentation chains mixed                              3
``d2``     depth: ops per chain; ``d-1``, ``d0`` or ``drand`` = random 1..3 per chain  -1 (random)
``a1``     alpha of the Dirichlet chain weights and the Beta skip weight            1.0
``all``    the 13-op ``augmentations_all`` set (adds color/contrast/brightness/sharpness)  off (9 ops)
``in``     ImageNet flavour: severity 1 unless ``s`` is given                        off
``fill0``  fill value for rotate/shear/translate borders                            0 (paper code)
=========  =======================================================================  ==========================
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

__all__ = ["AugMixConfig", "POLICY_NAME", "is_plugin_policy", "misspelled_policy_error", "parse_policy"]

POLICY_NAME = "augmix_paper"
_NUMERIC_TOKEN = re.compile(r"^(fill|s|w|d|a)(-?\d+(?:\.\d+)?)$")


@dataclass(frozen=True)
class AugMixConfig:
    """Hyper-parameters of the paper's AugMix (reference-facts 1.1-1.2)."""

    severity: float = 3.0
    width: int = 3
    depth: int = -1
    alpha: float = 1.0
    all_ops: bool = False
    fill: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.severity <= 10:
            raise ValueError(f"AugMix severity must be in 1..10, got {self.severity}; e.g. 'augmix_paper-s3'.")
        if int(self.width) != self.width or self.width < 1:
            raise ValueError(f"AugMix width must be an integer >= 1, got {self.width}; e.g. 'augmix_paper-w3'.")
        if int(self.depth) != self.depth or not (self.depth == -1 or self.depth >= 1):
            raise ValueError(
                f"AugMix depth must be -1 (random 1..3 per chain) or an integer >= 1, got {self.depth}; "
                "write 'augmix_paper-d-1' (or '-drand') for random depth, 'augmix_paper-d2' for a fixed depth.")
        if not self.alpha > 0:
            raise ValueError(f"AugMix alpha must be > 0, got {self.alpha}; e.g. 'augmix_paper-a1'.")
        if int(self.fill) != self.fill or not 0 <= self.fill <= 255:
            raise ValueError(f"AugMix fill must be an integer in 0..255, got {self.fill}; e.g. 'augmix_paper-fill128'.")

    def to_policy(self) -> str:
        """The canonical policy string that parses back to this config."""
        depth = "d-1" if self.depth == -1 else f"d{self.depth}"
        parts = [POLICY_NAME, f"s{self.severity:g}", f"w{self.width}", depth, f"a{self.alpha:g}"]
        if self.all_ops:
            parts.append("all")
        if self.fill:
            parts.append(f"fill{self.fill}")
        return "-".join(parts)


def is_plugin_policy(policy: object) -> bool:
    """Whether ``policy`` is one of the plugin's ``augmix_paper...`` strings (and not one of timm's own)."""
    return isinstance(policy, str) and (policy == POLICY_NAME or policy.startswith(POLICY_NAME + "-"))


def misspelled_policy_error(policy: object) -> ValueError | None:
    """The error for a string that is not a valid policy but looks like a misspelled ``augmix_paper``
    (``augmix_papr``, ``AUGMIX_PAPER``, surrounding spaces), else None.

    Only strings that timm rejects too (with a bare ``AssertionError``) are caught: timm's own policies
    (``augmix-m3-w3``, ``rand-m9-mstd0.5``, ``original``, ...) are never matched.
    """
    if not isinstance(policy, str) or is_plugin_policy(policy) or policy.split("-")[0] == "augmix":
        return None
    head = policy.strip().lower().split("-")[0].strip()
    if head != POLICY_NAME and difflib.SequenceMatcher(None, head, POLICY_NAME).ratio() < 0.8:
        return None
    return ValueError(
        f"auto_augment={policy!r} is not a valid policy; did you mean {POLICY_NAME!r}? The plugin's policy is "
        f"lower-case, without spaces: '{POLICY_NAME}[-s<severity>][-w<width>][-d<depth>][-a<alpha>][-all][-in]', "
        f"e.g. 'augmix_paper' or 'augmix_paper-s3-w3'. timm's own AugMix is 'augmix-m3-w3'.")


def parse_policy(policy: str) -> AugMixConfig:
    """Parse an ``augmix_paper[-...]`` string (grammar in the module docstring) into an :class:`AugMixConfig`.

    Raises:
        ValueError: for another policy name, an unknown or repeated token, or an out-of-range value.
    """
    misspelled = misspelled_policy_error(policy)
    if misspelled is not None:
        raise misspelled
    if not is_plugin_policy(policy):
        raise ValueError(f"Not an AugMix paper policy: {policy!r}; it must start with '{POLICY_NAME}'.")
    if policy != policy.strip():
        raise ValueError(f"AugMix policy {policy!r} has surrounding spaces; write {policy.strip()!r}.")
    tokens = policy.split("-")[1:]
    values: dict[str, float] = {}
    flags: set[str] = set()
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "d" and i + 1 < len(tokens) and tokens[i + 1].isdigit():
            key, value, i = "d", -float(tokens[i + 1]), i + 2  # 'd-1': the '-' split the sign off
        elif token == "drand":
            key, value, i = "d", -1.0, i + 1
        elif token in ("all", "in"):
            if token in flags:
                raise ValueError(f"Option '{token}' given twice in AugMix policy {policy!r}.")
            flags.add(token)
            i += 1
            continue
        else:
            match = _NUMERIC_TOKEN.match(token)
            if match is None:
                raise ValueError(
                    f"Unknown option '{token}' in AugMix policy {policy!r}. Valid options: s<severity 1..10>, "
                    "w<width>, d<depth> (d-1/drand = random 1..3), a<alpha>, all, in, fill<0..255>; "
                    "e.g. 'augmix_paper-s3-w3-d-1-a1'.")
            key, value, i = match.group(1), float(match.group(2)), i + 1
        if key in values:
            raise ValueError(f"Option '{key}' given twice in AugMix policy {policy!r}.")
        values[key] = value
    depth = int(values.get("d", -1))
    if depth == 0:
        depth = -1
    return AugMixConfig(
        severity=values.get("s", 1.0 if "in" in flags else 3.0),
        width=_as_int(values.get("w", 3), "width", policy),
        depth=depth,
        alpha=values.get("a", 1.0),
        all_ops="all" in flags,
        fill=_as_int(values.get("fill", 0), "fill", policy),
    )


def _as_int(value: float, what: str, policy: str) -> int:
    if value != int(value):
        raise ValueError(f"AugMix {what} must be an integer, got {value:g} in policy {policy!r}.")
    return int(value)
