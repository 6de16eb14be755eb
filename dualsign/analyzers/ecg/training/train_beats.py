"""Train and evaluate the AAMI beat classifier (morphology model + RR model) and export it to ONNX.

    python -m dualsign.analyzers.ecg.training.train_beats --data /work/shared/data/ecg

Protocol (inter-patient; never train and test on the same record, and no setting chosen on it):
  * leave-one-record-out over the six MIT-BIH records with signals (104, 106, 108, 116, 119, 223): for each
    held-out record, the morphology model trains on the other five and the RR model on the reference beat
    times of the other 22 annotated records, and the V threshold for beats without a P wave is chosen by an inner
    leave-one-record-out over that fold's training records (choose_v_threshold); the held-out record is scored
    twice, on the reference beat positions and on the runtime QRS detector's peaks matched to reference beats
    (150 ms);
  * leave-one-record-out of the RR model alone over all 23 annotated records (S vs N among N and S beats,
    reference positions), since S beats are scarce in the six signal records.
The shipped models train on everything. Figures go to weights/card.json ("beats" section).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dualsign.analyzers.ecg import beat_classes as bc
from dualsign.analyzers.ecg.training import common

if TYPE_CHECKING:  # scikit-learn is a training-only dependency; the shipped analyzer and its tests run without it
    from sklearn.ensemble import HistGradientBoostingClassifier

MORPH_PARAMS: dict[str, Any] = {
    "max_iter": 60,
    "learning_rate": 0.1,
    "max_depth": 3,
    "min_samples_leaf": 50,
    "l2_regularization": 1.0,
    "balance_power": 0.5,
    "monotonic_cst": [bc.MONOTONE.get(n, 0) for n in bc.RR_FEATURES + bc.MORPH_FEATURES],
}
RR_PARAMS: dict[str, Any] = {
    "max_iter": 100,
    "learning_rate": 0.08,
    "max_leaf_nodes": 8,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
    "balance_power": 1.0,
}
SV_MAP = {"N": "SV", "S": "SV", "V": "V", "F": "SV"}
# Candidate V thresholds for beats without a P wave (0.5: the plain argmax), fixed before looking at any result
# and never below 0.2 (a beat must keep some ventricular shape).
V_GRID = (0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2)
# Record 104 is paced: its template is a paced beat, so it cannot teach the morphology model; test only.
MORPH_TRAIN = tuple(r for r in common.SIGNAL_RECORDS if r != "104")


def _weights(y: np.ndarray, groups: np.ndarray, power: float) -> np.ndarray:
    """Each record counts equally; within that, rare classes are up-weighted (count ** -power)."""
    w = np.ones(y.size)
    for g in np.unique(groups):
        w[groups == g] = 1.0 / (groups == g).sum()
    for c in np.unique(y):
        w[y == c] /= (y == c).mean() ** power
    return w * y.size / w.sum()


def fit(params: dict[str, Any], x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> HistGradientBoostingClassifier:
    from sklearn.ensemble import HistGradientBoostingClassifier

    p = dict(params)
    power = p.pop("balance_power")
    m = HistGradientBoostingClassifier(random_state=common.SEED, early_stopping=False, **p)
    m.fit(x, y, sample_weight=_weights(y, groups, power))
    return m


def signal_record(data: Path, rec: str) -> dict[str, Any]:
    """Features of one signal record on reference positions and on detected peaks (matched to reference)."""
    sig, fs, names, ref, labels = common.load_mitdb(data, rec)
    p_ref = common.p_wave_present(sig, fs, names, ref)
    morph, rr = bc.beat_features(sig, fs, names, ref, p_ref)
    det = common.detect(sig, fs, f"mitdb_{rec}")
    p_det = common.p_wave_present(sig, fs, names, det)
    dm, drr = bc.beat_features(sig, fs, names, det, p_det)
    match = common.match_peaks(ref, det, int(0.15 * fs))
    ok = match >= 0
    det_cond, det_no_p = bc.conducted(drr, p_det), bc._no_p_wave(drr, p_det)
    det_paced = bc.paced_beats(sig, fs, names, det)
    return {
        "morph": morph,
        "r_s": ref / float(fs),
        "y": np.asarray(labels),
        "conducted": bc.conducted(rr, p_ref),
        "no_p": bc._no_p_wave(rr, p_ref),
        "paced": bc.paced_beats(sig, fs, names, ref),
        "det_morph": dm[match[ok]],
        "det_conducted": det_cond[match[ok]],
        "det_no_p": det_no_p[match[ok]],
        "det_y": np.asarray(labels)[ok],
        # Every detected beat (the RR model's second pass reads the rhythm around the matched ones too).
        "det_all": (dm, det / float(fs), det_cond, det_no_p, det_paced, match[ok]),
        "n_ref": int(ref.size),
        "n_det": int(det.size),
        "n_matched": int(ok.sum()),
    }


def annotation_record(data: Path, rec: str) -> tuple[np.ndarray, np.ndarray]:
    """RR-model features and AAMI labels from the reference beat times of an annotation text listing (the
    reference V beats stand for the morphology model's V calls)."""
    samples, syms = common.read_annotation_text(data / "mitdb" / "annotations_txt" / f"{rec}annotations.txt")
    y = np.asarray([bc.aami_of_symbol(s) for s in syms])
    return bc.rr_model_features(samples / 360.0, y == "V"), y


def _rr_xy(ann: dict[str, tuple[np.ndarray, np.ndarray]], recs: list[str]) -> tuple[np.ndarray, ...]:
    xs, ys, gs = [], [], []
    for r in recs:
        x, y = ann[r]
        keep = np.isin(y, ["N", "S"])
        xs.append(x[keep])
        ys.append((y[keep] == "S").astype(np.int64))
        gs.append(np.full(int(keep.sum()), r))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(gs)


def _morph_xy(sigrec: dict[str, dict[str, Any]], recs: list[str]) -> tuple[np.ndarray, ...]:
    recs = [r for r in recs if r in MORPH_TRAIN]
    keep = [sigrec[r]["y"] != "Q" for r in recs]
    x = np.concatenate([sigrec[r]["morph"][k] for r, k in zip(recs, keep, strict=True)])
    y = np.concatenate([[bc.MORPH_CLASSES.index(SV_MAP[c]) for c in sigrec[r]["y"][k]]
                        for r, k in zip(recs, keep, strict=True)])
    g = np.concatenate([np.full(int(k.sum()), r) for r, k in zip(recs, keep, strict=True)])
    return x, y, g


def _predict(
    morph_m: HistGradientBoostingClassifier, rr_m: HistGradientBoostingClassifier, xm: np.ndarray, r_s: np.ndarray,
    cond: np.ndarray, no_p: np.ndarray, v_threshold: float, paced: np.ndarray,
) -> np.ndarray:
    """As classify_beats: morphology first, then the RR model on the rhythm without the V beats it called."""
    assert list(morph_m.classes_) == list(range(len(bc.MORPH_CLASSES))), morph_m.classes_
    p_m = bc.lower_v_threshold(bc.gate_v(morph_m.predict_proba(xm), cond), no_p, v_threshold)
    p_q = paced.astype(np.float64)
    xr = bc.rr_model_features(r_s, bc.ventricular_calls(p_m, p_q))
    return bc.combine(p_m, rr_m.predict_proba(xr)[:, 1], p_q)


def choose_v_threshold(sigrec: dict[str, dict[str, Any]], recs: list[str]) -> dict[str, Any]:
    """V threshold for beats without a P wave, by leave-one-record-out over `recs` (the training records of the
    caller's fold; the record the caller tests on is never among them): each record's detected beats are scored
    by a morphology model trained on the others, and the threshold with the highest V Se + V +P, pooled over
    the records, wins (ties: the higher threshold). A beat counts as V where its rescaled P(V) >= 0.5."""
    y, pv = [], []
    for h in recs:
        mm = fit(MORPH_PARAMS, *_morph_xy(sigrec, [o for o in recs if o != h]))
        d = sigrec[h]
        y.append(d["det_y"] == "V")
        pv.append((bc.gate_v(mm.predict_proba(d["det_morph"]), d["det_conducted"]), d["det_no_p"]))
    is_v = np.concatenate(y)
    best: dict[str, Any] = {}
    for t in V_GRID:
        called = np.concatenate([bc.lower_v_threshold(p, no_p, t)[:, 1] >= 0.5 for p, no_p in pv])
        tp = int((called & is_v).sum())
        se, ppv = tp / max(int(is_v.sum()), 1), tp / max(int(called.sum()), 1)
        if not best or se + ppv > best["se"] + best["ppv"] + 1e-12:
            best = {"threshold": t, "se": se, "ppv": ppv, "records": list(recs)}
    return best


def _fixed_graph_name(path: Path) -> None:
    """skl2onnx names the graph with a random uuid; a fixed name makes the exported file byte-reproducible."""
    import onnx

    model = onnx.load(str(path))
    model.graph.name = path.stem
    onnx.save(model, str(path))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="the ecg data folder (with mitdb/)")
    ap.add_argument("--no-export", action="store_true", help="evaluate only; keep the shipped weights")
    args = ap.parse_args(argv)
    data: Path = args.data

    ann_recs = sorted(set(common.DS1) | {"104"})
    ann = {r: annotation_record(data, r) for r in ann_recs}
    sigrec = {r: signal_record(data, r) for r in common.SIGNAL_RECORDS}

    # 1. RR model alone, LOO over the 23 annotated records.
    s_true: list[str] = []
    s_pred: list[str] = []
    for r in ann_recs:
        x, y, g = _rr_xy(ann, [o for o in ann_recs if o != r])
        m = fit(RR_PARAMS, x, y, g)
        xt, yt, _ = _rr_xy(ann, [r])
        if yt.size:
            s_true += ["S" if v else "N" for v in yt]
            s_pred += ["S" if p >= 0.5 else "N" for p in m.predict_proba(xt)[:, 1]]
    rr_loo = common.per_class_stats(s_true, s_pred, ("N", "S"))

    # 2. Full classifier, LOO over the six signal records.
    res: dict[str, dict[str, list[str]]] = {k: {"true": [], "pred": []} for k in ("ref", "det")}
    per_record: dict[str, Any] = {}
    for r in common.SIGNAL_RECORDS:
        others = [o for o in common.SIGNAL_RECORDS if o != r]
        mm = fit(MORPH_PARAMS, *_morph_xy(sigrec, others))
        rm = fit(RR_PARAMS, *_rr_xy(ann, [o for o in ann_recs if o != r]))
        # Inner leave-one-record-out on this fold's training records only.
        v_thr = choose_v_threshold(sigrec, [o for o in MORPH_TRAIN if o != r])
        d = sigrec[r]
        rec_stats: dict[str, Any] = {"n_ref": d["n_ref"], "n_detected": d["n_det"], "n_matched": d["n_matched"],
                                     "no_p_v_threshold": v_thr}
        dm, dt, dc, dn, dp, sel = d["det_all"]
        for key, xm, r_s, cond, no_p, paced, y, keep in (
            ("ref", d["morph"], d["r_s"], d["conducted"], d["no_p"], d["paced"], d["y"], slice(None)),
            ("det", dm, dt, dc, dn, dp, d["det_y"], sel),
        ):
            probs = _predict(mm, rm, xm, r_s, cond, no_p, v_thr["threshold"], paced)[keep]
            pred = [bc.AAMI_CLASSES[i] for i in np.argmax(probs, axis=1)]
            res[key]["true"] += list(y)
            res[key]["pred"] += pred
            rec_stats[key] = common.per_class_stats(list(y), pred, bc.AAMI_CLASSES)["per_class"]
        per_record[r] = rec_stats
        print(
            r,
            json.dumps(
                {
                    k: {
                        c: (v["n"], v["se"] and round(v["se"], 3), v["ppv"] and round(v["ppv"], 3))
                        for c, v in rec_stats[k].items()
                        if v["n"] or v["ppv"]
                    }
                    for k in ("ref", "det")
                }
            ),
        )
    loo = {k: common.per_class_stats(v["true"], v["pred"], bc.AAMI_CLASSES) for k, v in res.items()}
    # Without the paced record (as in the usual DS1/DS2 protocol, which excludes paced records).
    nonpaced = {}
    for k in ("ref", "det"):
        n104 = sum(per_record["104"][k][c]["n"] for c in bc.AAMI_CLASSES)
        t, p = res[k]["true"], res[k]["pred"]
        i0 = common.SIGNAL_RECORDS.index("104")
        start = sum(sum(per_record[o][k][c]["n"] for c in bc.AAMI_CLASSES) for o in common.SIGNAL_RECORDS[:i0])
        keep = [i for i in range(len(t)) if not (start <= i < start + n104)]
        nonpaced[k] = common.per_class_stats([t[i] for i in keep], [p[i] for i in keep], bc.AAMI_CLASSES)

    for k in ("ref", "det"):
        print(
            f"LOO ({k}):",
            json.dumps(
                {
                    c: (v["n"], v["se"] and round(v["se"], 4), v["ppv"] and round(v["ppv"], 4))
                    for c, v in loo[k]["per_class"].items()
                }
            ),
        )
        print(
            f"LOO non-paced ({k}):",
            json.dumps(
                {
                    c: (v["n"], v["se"] and round(v["se"], 4), v["ppv"] and round(v["ppv"], 4))
                    for c, v in nonpaced[k]["per_class"].items()
                }
            ),
        )
    print(
        "RR model LOO over 23 annotated records (S vs N):",
        json.dumps({c: (v["n"], round(v["se"], 4), round(v["ppv"], 4)) for c, v in rr_loo["per_class"].items()}),
    )

    if args.no_export:
        return 0
    mm = fit(MORPH_PARAMS, *_morph_xy(sigrec, list(MORPH_TRAIN)))
    rm = fit(RR_PARAMS, *_rr_xy(ann, ann_recs))
    v_thr = choose_v_threshold(sigrec, list(MORPH_TRAIN))
    print("no-P V threshold (leave-one-record-out over", ", ".join(MORPH_TRAIN) + "):", json.dumps(v_thr))
    _fixed_graph_name(common.export_onnx(mm, len(bc.RR_FEATURES) + len(bc.MORPH_FEATURES), bc.MORPH_MODEL))
    _fixed_graph_name(common.export_onnx(rm, len(bc.RR_MODEL_FEATURES), bc.RR_MODEL))
    bc._session.cache_clear()
    common.update_card(
        "beats",
        {
            "models": {
                bc.MORPH_MODEL: {
                    "classes": list(bc.MORPH_CLASSES),
                    "features": list(bc.RR_FEATURES + bc.MORPH_FEATURES),
                    "trained_on": list(MORPH_TRAIN),
                    "params": MORPH_PARAMS,
                },
                bc.RR_MODEL: {
                    "classes": ["N", "S"],
                    "features": list(bc.RR_MODEL_FEATURES),
                    "clean_features": "clean_irreg, pre_clean_local, post_clean_local: against the local rhythm of "
                    "the intervals touching no V beat (reference V labels in training, the morphology model's V calls "
                    "at run time)",
                    "trained_on": ann_recs,
                    "params": RR_PARAMS,
                },
            },
            "no_p_v_threshold": v_thr["threshold"],
            "no_p_v_threshold_choice": v_thr,
            "paced_rule": "pacing.py: stimulus spike before a QRS >= 120 ms wide, in >= 1/3 of the 21 beats around",
            "seed": common.SEED,
            "detector": common.detector_id(),
            "protocol": "leave-one-record-out over MIT-BIH 104, 106, 108, 116, 119, 223 (morphology model trains on "
            "the other five signal records, RR model on the other 22 annotated DS1/104 records; the V threshold for "
            "beats without a P wave by an inner leave-one-record-out on the fold's own training records); "
            "'det' = runtime detector peaks matched to reference beats within 150 ms",
            "loo_signal_records": loo,
            "loo_signal_records_without_paced_104": nonpaced,
            "loo_per_record": per_record,
            "rr_model_loo_23_annotated_records": rr_loo,
            "command": "python -m dualsign.analyzers.ecg.training.train_beats --data /work/shared/data/ecg",
        },
    )
    bc.no_p_v_threshold.cache_clear()
    print("exported", bc.MORPH_MODEL, bc.RR_MODEL)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
