"""Named, ready-made kernels a user can drop into a filter.

Every preset is written as it appears on the image (row 0 is the top row) and is meant for
cross-correlation, the engine's default: ``out[y, x] = sum_ij K[i, j] * X[y + i, x + j]``.
So ``sobel-x`` is positive where the image goes from dark on the left to bright on the right.

Angles (``theta`` of ``gabor``, ``angle`` of ``motion-blur``) are in degrees, counter-clockwise
as seen on screen, with 0 pointing right.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from playground.engine.errors import BankError


@dataclass(frozen=True)
class Param:
    """One tunable number of a preset.

    Attributes
    ----------
    name : str
        Python identifier used as keyword to `Preset.make`, e.g. ``"sigma"``.
    default : float
        Value used when the caller does not give one; integral for integer params.
    minimum, maximum : float
        Inclusive bounds.
    integer : bool
        True for sizes and lengths.
    description : str
        Short text for tooltips, e.g. ``"angle in degrees"``.
    odd : bool
        True when the value must be odd so the kernel has a centre pixel.
    """

    name: str
    default: float
    minimum: float
    maximum: float
    integer: bool
    description: str
    odd: bool = False

    def validate(self, preset: str, value: object) -> float:
        """Check a user-supplied value and return it in canonical form.

        Parameters
        ----------
        preset : str
            Name of the preset the value is for; used in error messages.
        value : object
            The value given by the user.

        Returns
        -------
        float
            The value, as an ``int`` for integer params.

        Raises
        ------
        BankError
            If the value is not a finite real number, is out of range, is not integral for an
            integer param, or is even where an odd value is required.
        """
        where = f"preset '{preset}', parameter '{self.name}'"
        # bool is an int subclass, but size=True is a mistake, not a request for size 1.
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise BankError(f"{where}: expected a number, got {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise BankError(f"{where}: must be finite, got {number}")
        if not self.minimum <= number <= self.maximum:
            raise BankError(
                f"{where}: must be between {self.minimum:g} and {self.maximum:g}, got {number:g}"
            )
        if not self.integer:
            return number
        if not number.is_integer():
            raise BankError(f"{where}: must be a whole number, got {number:g}")
        whole = int(number)
        if self.odd and whole % 2 == 0:
            raise BankError(f"{where}: must be odd so the kernel has a centre, got {whole}")
        return whole


@dataclass(frozen=True)
class Preset:
    """A named kernel recipe, possibly with tunable parameters.

    Attributes
    ----------
    name : str
        Kebab-case menu name, e.g. ``"sobel-x"``.
    description : str
        One line shown in menus and by ``filter-playground presets``.
    params : tuple of Param
        Tunable numbers; empty for fixed kernels.
    build : callable
        Makes the float64 weights from validated parameter values.
    """

    name: str
    description: str
    params: tuple[Param, ...]
    build: Callable[..., np.ndarray] = field(repr=False, compare=False)

    def make(self, **params: float) -> np.ndarray:
        """Build the kernel.

        Parameters
        ----------
        **params : float
            Values for this preset's params; missing ones take their defaults.

        Returns
        -------
        numpy.ndarray
            A new float32, C-contiguous 2-D kernel (kh x kw).

        Raises
        ------
        BankError
            If a param name is unknown or a value is invalid (see `Param.validate`).
        """
        known = {p.name for p in self.params}
        unknown = sorted(set(params) - known)
        if unknown:
            accepted = ", ".join(p.name for p in self.params) or "none"
            raise BankError(
                f"preset '{self.name}': unknown parameter '{unknown[0]}'; parameters: {accepted}"
            )
        values = {p.name: p.validate(self.name, params.get(p.name, p.default)) for p in self.params}
        weights = self.build(**values)
        return np.ascontiguousarray(weights, dtype=np.float32)


def _offsets_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Row (downward) and column offsets from the kernel centre."""
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2
    rows, cols = np.meshgrid(offsets, offsets, indexing="ij")
    return rows, cols


def _cos_sin(degrees: float) -> tuple[float, float]:
    # Rounding makes right angles exact (cos 90 deg is 6e-17 in floating point), so a kernel
    # turned by 90 degrees is exactly the transpose instead of one with stray tiny weights.
    radians = math.radians(degrees)
    return round(math.cos(radians), 12), round(math.sin(radians), 12)


def _along_across(size: int, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates along and across a direction given counter-clockwise on screen."""
    rows, cols = _offsets_grid(size)
    cos, sin = _cos_sin(degrees)
    # Image rows grow downward, so "up" on screen is -rows.
    along = cols * cos - rows * sin
    across = cols * sin + rows * cos
    return along, across


def _delta(size: int) -> np.ndarray:
    weights = np.zeros((size, size))
    weights[size // 2, size // 2] = 1.0
    return weights


def _gaussian(size: int, sigma: float) -> np.ndarray:
    rows, cols = _offsets_grid(size)
    weights = np.exp(-(rows**2 + cols**2) / (2 * sigma**2))
    return weights / weights.sum()


def _box(size: int) -> np.ndarray:
    return np.full((size, size), 1.0 / size**2)


def _unsharp(size: int, sigma: float, amount: float) -> np.ndarray:
    identity = _delta(size)
    return identity + amount * (identity - _gaussian(size, sigma))


def _laplacian_of_gaussian(size: int, sigma: float) -> np.ndarray:
    rows, cols = _offsets_grid(size)
    q = (rows**2 + cols**2) / (2 * sigma**2)
    weights = -(1 - q) * np.exp(-q) / (math.pi * sigma**4)
    # The truncated window does not sum to zero on its own; flat regions must give exactly 0.
    return weights - weights.mean()


def _difference_of_gaussians(size: int, sigma1: float, sigma2: float) -> np.ndarray:
    return _gaussian(size, sigma1) - _gaussian(size, sigma2)


def _gabor(
    size: int, sigma: float, theta: float, wavelength: float, gamma: float, psi: float
) -> np.ndarray:
    along, across = _along_across(size, theta)
    envelope = np.exp(-(along**2 + (gamma * across) ** 2) / (2 * sigma**2))
    carrier = np.cos(2 * math.pi * along / wavelength + math.radians(psi))
    # Removing the DC under the envelope (rather than a flat mean) makes the kernel zero-sum
    # while still fading to zero at its borders, so it does not pick up a box-shaped offset.
    carrier -= (envelope * carrier).sum() / envelope.sum()
    return envelope * carrier


def _motion_blur(length: int, angle: float) -> np.ndarray:
    along, across = _along_across(length, angle)
    half = (length - 1) / 2
    # A tent across the line anti-aliases diagonal angles; at 0 and 90 degrees it leaves
    # exactly one row (column) of ones. The ends fade over one pixel for the same reason.
    weights = np.clip(1 - np.abs(across), 0, None) * np.clip(half + 1 - np.abs(along), 0, 1)
    return weights / weights.sum()


def _fixed(name: str, description: str, rows: list[list[float]]) -> Preset:
    grid = tuple(tuple(float(v) for v in row) for row in rows)
    return Preset(name, description, (), lambda: np.array(grid))


def _size(default: int, minimum: int, *, odd: bool = True, name: str = "size") -> Param:
    description = "side in pixels, odd" if odd else "side in pixels"
    return Param(name, default, minimum, 31, True, description, odd=odd)


def _sigma(default: float, minimum: float = 0.1, *, name: str = "sigma") -> Param:
    return Param(name, default, minimum, 20.0, False, "Gaussian spread in pixels")


def _degrees(name: str, description: str) -> Param:
    return Param(name, 0, -180.0, 180.0, False, description)


_ALL = (
    # Smoothing
    Preset("box", "Box blur: plain average over a square", (_size(3, 1, odd=False),), _box),
    Preset(
        "gaussian",
        "Gaussian blur, normalised to sum 1",
        (_size(5, 1), _sigma(1.0)),
        _gaussian,
    ),
    Preset(
        "motion-blur",
        "Average along a line through the centre, like camera shake",
        (
            _size(9, 1, name="length"),
            _degrees("angle", "line direction in degrees, counter-clockwise, 0 = horizontal"),
        ),
        _motion_blur,
    ),
    # Sharpening
    _fixed(
        "sharpen", "Sharpen: centre minus its 4 neighbours", [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]
    ),
    Preset(
        "unsharp",
        "Unsharp mask: image plus amount times (image - Gaussian blur)",
        (
            _size(5, 1),
            _sigma(1.0),
            Param("amount", 1.0, 0.0, 10.0, False, "strength of the sharpening"),
        ),
        _unsharp,
    ),
    # Edges
    _fixed(
        "sobel-x",
        "Sobel x gradient: positive where the image gets brighter to the right",
        [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    ),
    _fixed(
        "sobel-y",
        "Sobel y gradient: positive where the image gets brighter downward",
        [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    ),
    _fixed(
        "scharr-x",
        "Scharr x gradient: like sobel-x, more rotation-invariant",
        [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]],
    ),
    _fixed(
        "scharr-y",
        "Scharr y gradient: like sobel-y, more rotation-invariant",
        [[-3, -10, -3], [0, 0, 0], [3, 10, 3]],
    ),
    _fixed(
        "prewitt-x",
        "Prewitt x gradient: positive where the image gets brighter to the right",
        [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],
    ),
    _fixed(
        "prewitt-y",
        "Prewitt y gradient: positive where the image gets brighter downward",
        [[-1, -1, -1], [0, 0, 0], [1, 1, 1]],
    ),
    _fixed("roberts-x", "Roberts cross, main diagonal (2x2)", [[1, 0], [0, -1]]),
    _fixed("roberts-y", "Roberts cross, anti-diagonal (2x2)", [[0, 1], [-1, 0]]),
    _fixed(
        "horizontal-edge",
        "Horizontal edge detector: positive where the top is brighter than the bottom",
        [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
    ),
    _fixed(
        "vertical-edge",
        "Vertical edge detector: positive where the left is brighter than the right",
        [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
    ),
    _fixed(
        "laplacian-4",
        "Laplacian, 4-neighbour: second derivative, zero on flat areas",
        [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    ),
    _fixed(
        "laplacian-8",
        "Laplacian, 8-neighbour: second derivative including diagonals",
        [[1, 1, 1], [1, -8, 1], [1, 1, 1]],
    ),
    Preset(
        "log",
        "Laplacian of Gaussian: blob and edge detector, zero-sum, negative centre",
        (_size(9, 3), _sigma(1.4, 0.3)),
        _laplacian_of_gaussian,
    ),
    Preset(
        "dog",
        "Difference of Gaussians: band-pass, gaussian(sigma1) - gaussian(sigma2)",
        (_size(9, 3), _sigma(1.0, name="sigma1"), _sigma(2.0, name="sigma2")),
        _difference_of_gaussians,
    ),
    # Lines
    _fixed(
        "vertical-line",
        "Vertical line detector: sums a 3-pixel column",
        [[0, 1, 0], [0, 1, 0], [0, 1, 0]],
    ),
    _fixed(
        "horizontal-line",
        "Horizontal line detector: sums a 3-pixel row",
        [[0, 0, 0], [1, 1, 1], [0, 0, 0]],
    ),
    Preset(
        "gabor",
        "Gabor (real part, zero-mean): stripes at an angle; theta 0 finds vertical ones",
        (
            _size(15, 3),
            _sigma(3.0, 0.5),
            _degrees("theta", "stripe normal in degrees, counter-clockwise, 0 = vertical stripes"),
            Param("wavelength", 8.0, 2.0, 64.0, False, "stripe period in pixels"),
            Param("gamma", 0.5, 0.1, 4.0, False, "aspect ratio: lower means longer stripes"),
            _degrees("psi", "phase offset in degrees"),
        ),
        _gabor,
    ),
    # Other
    _fixed("emboss", "Emboss: relief lit from the top left", [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
    _fixed("identity", "Identity: leaves the image unchanged", [[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
)

PRESETS: dict[str, Preset] = {preset.name: preset for preset in _ALL}


def names() -> list[str]:
    """Preset names in menu order.

    Returns
    -------
    list of str
        Smoothing first, then sharpening, edges, lines and the rest.
    """
    return list(PRESETS)


def get(name: str) -> Preset:
    """Look up a preset by name.

    Parameters
    ----------
    name : str
        Kebab-case preset name, e.g. ``"sobel-x"``.

    Returns
    -------
    Preset
        The preset.

    Raises
    ------
    BankError
        If no preset has that name; the message lists the known names.
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise BankError(f"unknown preset '{name}'; known: {', '.join(PRESETS)}") from None


def kernel(name: str, **params: float) -> np.ndarray:
    """Build a preset kernel by name.

    Parameters
    ----------
    name : str
        Preset name.
    **params : float
        Parameter values; missing ones take their defaults.

    Returns
    -------
    numpy.ndarray
        A new float32, C-contiguous 2-D kernel.

    Raises
    ------
    BankError
        If the name, a parameter name or a value is invalid.
    """
    return get(name).make(**params)
