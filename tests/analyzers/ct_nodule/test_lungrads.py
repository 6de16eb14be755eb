"""Lung-RADS v2022 categories at the size boundaries the guideline sets."""

from __future__ import annotations

import pytest

from dualsign.analyzers.ct_nodule.lungrads import NoduleForRads, exam_category, nodule_category


@pytest.mark.parametrize(
    ("density", "mean_mm", "solid_mm", "expected"),
    [
        ("solid", 5.9, 5.9, "2"),
        ("solid", 6.0, 6.0, "3"),
        ("solid", 8.0, 8.0, "4A"),
        ("solid", 15.0, 15.0, "4B"),
        ("part-solid", 5.0, 2.0, "2"),
        ("part-solid", 10.0, 5.0, "3"),
        ("part-solid", 10.0, 6.0, "4A"),
        ("part-solid", 12.0, 8.0, "4B"),
        ("ground-glass", 29.9, 0.0, "2"),
        ("ground-glass", 30.0, 0.0, "3"),
        ("calcified", 12.0, 12.0, "1"),
    ],
)
def test_baseline_categories(density: str, mean_mm: float, solid_mm: float, expected: str) -> None:
    assert nodule_category(NoduleForRads(density, mean_mm, solid_mm), with_prior=False) == expected


def test_new_and_growing_solid_nodules() -> None:
    assert nodule_category(NoduleForRads("solid", 5.0, 5.0, new=True), with_prior=True) == "3"
    assert nodule_category(NoduleForRads("solid", 7.0, 7.0, new=True), with_prior=True) == "4A"
    assert nodule_category(NoduleForRads("solid", 7.0, 7.0, growing=True), with_prior=True) == "4A"
    assert nodule_category(NoduleForRads("solid", 9.0, 9.0, growing=True), with_prior=True) == "4B"


def test_exam_takes_the_highest_category_and_incomplete_is_zero() -> None:
    ns = [NoduleForRads("solid", 5.0, 5.0), NoduleForRads("solid", 9.0, 9.0)]
    assert exam_category(ns, False, complete=True)["category"] == "4A"
    assert exam_category([], False, complete=True)["category"] == "1"
    assert exam_category(ns, False, complete=False)["category"] == "0"
