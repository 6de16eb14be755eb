"""The simulated-nodule truth: the part of a nodule that lies inside the host's lung region."""

from __future__ import annotations

import numpy as np

from dualsign.analyzers.ct_nodule.validation.simulate import _visible_part, simulate_scan


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


def _synthetic_lungs() -> tuple[np.ndarray, tuple[float, float, float]]:
    """Two air boxes (-850 HU) in soft tissue (40 HU), inside air around the body, with a few vessels."""
    hu = np.full((40, 96, 128), -1000, np.int16)
    hu[:, 8:88, 8:120] = 40
    hu[2:38, 16:80, 16:60] = -850
    hu[2:38, 16:80, 68:112] = -850
    hu[:, 40:42, 20:56] = 30  # a vessel in each lung
    hu[:, 50:52, 72:108] = 30
    return hu, (2.0, 1.0, 1.0)


def test_kind_fixes_density_and_placement_and_leaves_the_default_draws_alone() -> None:
    """`kind` makes every nodule the one kind asked for (ground glass drawn in its own HU range); without it a
    seed still gives one scan, whatever else ran, and the usual mix of kinds."""
    hu, sp = _synthetic_lungs()
    to_lps = lambda c: np.asarray(c, float)  # noqa: E731
    _, plain = simulate_scan(hu, sp, to_lps, 2.0, 3, seed=7, diameters=(6.0, 10.0))
    again_hu, again = simulate_scan(hu, sp, to_lps, 2.0, 3, seed=7, diameters=(6.0, 10.0))
    assert [t.to_dict() for t in again] == [t.to_dict() for t in plain]
    _, kinded = simulate_scan(hu, sp, to_lps, 2.0, 3, seed=7, diameters=(6.0, 10.0),
                              kind=("ground-glass", "juxtapleural"))
    assert kinded
    assert all(t.density == "ground-glass" and t.placement == "juxtapleural" for t in kinded)
    assert all(-680.0 <= t.hu <= -480.0 for t in kinded)  # drawn as ground glass
    kinds = {(t.density, t.placement) for t in plain}
    assert kinds != {("ground-glass", "juxtapleural")}  # the default still draws its own mix
