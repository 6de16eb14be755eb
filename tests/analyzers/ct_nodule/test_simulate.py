"""The simulated-nodule truth: the part of a nodule that lies inside the host's lung region."""

from __future__ import annotations

import numpy as np

from dualsign.analyzers.ct_nodule.validation.simulate import _visible_part


def test_the_visible_part_of_a_nodule_against_the_wall_is_the_sphere_less_its_cap() -> None:
    """A 10 mm sphere whose centre lies 2 mm inside the lung (the wall a flat plane): the part in the lung is the
    sphere less a cap 3 mm high, by the cap formula; its longest axial chord is still the diameter (along the
    wall). A sphere wholly in the lung is wholly visible."""
    spacing = np.array([0.5, 0.5, 0.5])
    shape = (30, 30, 30)
    center = np.array([14.5, 14.5, 14.5])  # voxel index
    radius = 5.0
    lung = np.ones(shape, bool)
    lung[:, :, 19:] = False  # the wall begins at x index 18.5: 4 voxels (2 mm) beyond the centre
    fraction, chord = _visible_part(shape, spacing, center, np.full(3, radius), lung)
    h = radius - 2.0
    expected = 1.0 - (np.pi * h * h * (3 * radius - h) / 3.0) / (4.0 / 3.0 * np.pi * radius**3)
    assert abs(fraction - expected) <= 0.02
    assert abs(chord - 2 * radius) <= 0.25
    whole, _ = _visible_part(shape, spacing, center, np.full(3, radius), np.ones(shape, bool))
    assert whole == 1.0
