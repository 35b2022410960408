"""Learn the answer decision (both stages) and measure it through the whole assistant, cross-validated by article.

The training questions and their candidates are those of ``answer_data.py`` (German XQuAD dev
articles with paragraphs removed, ``xquad-de-abstain-dev``, the seed-document questions). Two
logistic regressions make the decision (``assistant/answers/answer_model.py``):

* ``ranking``, over the features of every candidate;
* ``verified``, over the features and the verifier's columns of the ``VERIFY`` best candidates by
  ``ranking``. Its verifier logits are the out-of-fold ones of ``train_verifier.py`` (each
  question scored by a verifier that did not see its article), which is also how the shipped
  verifier meets a new question.

Both are fitted and scored by article: ``FOLDS`` folds, so no question is scored by a model that
saw its article. The out-of-fold probabilities give the curve of answer_hit against false answers
on ``xquad-de-abstain-dev`` (with and without the verifier); each stage's threshold is the one with
the most answer_hit among those that refuse at least ``MIN_REFUSED`` of its unanswerable questions
(a wrong answer with a citation is the worst outcome). At those thresholds each fold's decision,
with the verifier of that fold's group, answers its held-out questions through the whole
assistant (``Assistant.ask``), which gives the tables in the README. The decision fitted on all
articles is written to ``assistant/answers/models/answer-model.json``.

    python benchmarks/train_verifier.py   # first: the verifier and its out-of-fold logits
    python benchmarks/answer_model.py     # needs the bench extras (scikit-learn, matplotlib)
    python benchmarks/answer_model.py --curves-only [--reading KEY]   # seconds, writes nothing

``--curves-only`` stops after the out-of-fold curves: it prints each decision's operating point on
``xquad-de-abstain-dev`` and, at that threshold, the seed questions' best candidate (answered and
right, unanswerable answered), from the cached rows and logits alone. That compares verifiers
(``--reading``: the key of other cached out-of-fold logits, see its help) without the run
through the assistant, whose figures it approximates (it does not cut answers or resolve follow-ups).
"""

from __future__ import annotations

import argparse
import pickle
import statistics
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np

from answer_data import (FOLDS, GROUPS, SEED_TRAINING, VARIANTS, Case, Rows, Workbench, folds, group_weights,
                         oof_logits)
from common import HERE, PROJECT, table, write_result
from reading_data import reading_data, reading_digest

from assistant.answers.answer_model import BUNDLED, VERIFIER_FEATURES, AnswerModel, Decision, verifier_columns
from assistant.answers.features import FEATURES
from assistant.answers.verifier import Verifier, VerifierWeights
from assistant.evaluation import contains_answer
from assistant.session import Assistant

VERIFY = 4  # candidates the verifier reads per question (benchmarks/README.md: 4 and 5 measured)
SEED_WEIGHT = 10.0  # the seed questions count about as much as the XQuAD questions together
MIN_REFUSED = 0.92
CURVE = HERE / "results" / "answer-model.png"
Logits = dict[tuple[str, str], np.ndarray]


def _regression(matrix: np.ndarray, labels: np.ndarray, weights: np.ndarray, features: tuple[str, ...],
                about: str = "") -> AnswerModel:
    from sklearn.linear_model import LogisticRegression

    mean, scale = matrix.mean(axis=0), matrix.std(axis=0)
    scale[scale == 0] = 1.0
    regression = LogisticRegression(C=1.0, max_iter=5000).fit((matrix - mean) / scale, labels, sample_weight=weights)
    return AnswerModel(features, mean, scale, regression.coef_[0], float(regression.intercept_[0]), 0.5, about)


def _weight(row: Rows) -> float:
    return SEED_WEIGHT if row.case.set == "seed" else 1.0


def fit(rows: Sequence[Rows], about: str = "") -> AnswerModel:
    """The ranking stage: features of every candidate."""
    rows = [r for r in rows if len(r.matrix)]
    return _regression(np.vstack([r.matrix for r in rows]), np.concatenate([r.labels for r in rows]),
                       np.concatenate([np.full(len(r.matrix), _weight(r)) for r in rows]), FEATURES, about)


def verified_inputs(row: Rows, ranking: AnswerModel, logits: Logits) -> tuple[np.ndarray, np.ndarray]:
    """The ``VERIFY`` best candidates of a row by ``ranking``, and their features with the verifier's
    columns: what the verified stage sees."""
    judged = np.argsort(-ranking.probabilities(row.matrix), kind="stable")[:VERIFY]
    found = logits[(row.case.set, row.case.id)][judged]
    return judged, np.hstack([row.matrix[judged], verifier_columns(found)])


def fit_decision(rows: Sequence[Rows], logits: Logits, about: str = "") -> Decision:
    ranking = fit(rows)
    rows = [r for r in rows if len(r.matrix)]
    inputs = [verified_inputs(r, ranking, logits) for r in rows]
    verified = _regression(np.vstack([m for _, m in inputs]),
                           np.concatenate([r.labels[judged] for r, (judged, _) in zip(rows, inputs)]),
                           np.concatenate([np.full(len(judged), _weight(r)) for r, (judged, _) in zip(rows, inputs)]),
                           (*FEATURES, *VERIFIER_FEATURES))
    return Decision(ranking, verified, VERIFY, about)


def best_candidate(decision: Decision, row: Rows, logits: Logits | None) -> tuple[float, bool]:
    """The best candidate's probability and whether it holds the answer (``logits`` None: ranking alone)."""
    if not len(row.matrix):
        return 0.0, False
    if logits is None:
        probabilities = decision.ranking.probabilities(row.matrix)
        return float(probabilities.max()), bool(row.labels[int(np.argmax(probabilities))])
    judged, matrix = verified_inputs(row, decision.ranking, logits)
    probabilities = decision.verified.probabilities(matrix)
    return float(probabilities.max()), bool(row.labels[judged[int(np.argmax(probabilities))]])


def curve(best: dict[str, tuple[float, bool]], cases: Sequence[Case]) -> list[tuple[float, float, float]]:
    """(threshold, answer_hit, refused) for thresholds 0.000 ... 1.000, from each question's best
    candidate probability and whether that candidate holds the answer."""
    answerable = [best[c.id] for c in cases if c.answers]
    unanswerable = [best[c.id][0] for c in cases if not c.answers]
    return [(t, float(np.mean([p >= t and right for p, right in answerable])),
             float(np.mean([p < t for p in unanswerable]))) for t in np.round(np.linspace(0, 1, 201), 3)]


def operating_point(points: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    return max((p for p in points if p[2] >= MIN_REFUSED), key=lambda p: (p[1], -p[0]))


def score_answers(assistant: Assistant, cases: Sequence[Case]) -> list[dict]:
    rows = []
    for case in cases:
        answer = assistant.ask(case.question, case.history)
        rows.append({"id": case.id, "answerable": bool(case.answers), "answered": answer.answered,
                     "hit": bool(case.answers) and answer.answered and contains_answer(answer.text, case.answers),
                     "length": len(answer.text), "answer": answer.text})
    return rows


def totals(rows: Sequence[dict]) -> dict[str, float]:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    return {"questions": len(rows), "answerable": len(answerable), "unanswerable": len(unanswerable),
            "answer_hit": round(float(np.mean([r["hit"] for r in answerable])), 3),
            "refused": round(float(np.mean([not r["answered"] for r in unanswerable])), 3),
            "false_answers": sum(r["answered"] for r in unanswerable),
            "median_answer_chars": statistics.median([r["length"] for r in answerable if r["answered"]] or [0])}


def plot(curves: dict[str, tuple[list[tuple[float, float, float]], tuple[float, float, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4.2), dpi=110)
    for (name, (points, (t, hit, refused))), colour in zip(curves.items(), ("#1f4e79", "#8a5a00")):
        axes.plot([1 - r for _, _, r in points], [h for _, h, _ in points], color=colour, marker=".", markersize=2,
                  label=name)
        axes.scatter([1 - refused], [hit], color=colour, edgecolor="#b00020", zorder=3,
                     label=f"  Schwelle {t:.3f}: {hit:.3f} / {refused:.3f}")
    axes.axvline(1 - MIN_REFUSED, color="#777777", linestyle="--", linewidth=1,
                 label=f"{1 - MIN_REFUSED:.0%} falsche Antworten")
    axes.set_xlabel("Anteil falscher Antworten (unbeantwortbare Fragen beantwortet)")
    axes.set_ylabel("answer_hit (beantwortbare Fragen)")
    axes.set_title("xquad-de-abstain-dev, nach Artikeln kreuzvalidiert")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(exist_ok=True)
    figure.savefig(path)


def print_operating_points(curves: dict, fold_sets: Sequence[set[str]], fold_decisions: Sequence[Decision],
                           seed_rows: Sequence[Rows], logits: Logits, reading: str) -> None:
    """``--curves-only``: each decision's operating point on abstain-dev, and the seed questions'
    out-of-fold best candidates at that threshold."""
    lines = []
    for name, used in (("Merkmale allein", None), ("mit Prüfmodell", logits)):
        threshold, hit, refused = curves[name][1]
        best = [(r, best_candidate(decision, r, used)) for held, decision in zip(fold_sets, fold_decisions)
                for r in seed_rows if r.case.article in held]
        answerable = [p >= threshold and right for r, (p, right) in best if r.case.answers]
        false = sorted(r.case.id for r, (p, _) in best if not r.case.answers and p >= threshold)
        lines.append([name, f"{threshold:.3f}", f"{hit:.3f}", f"{refused:.3f}", f"{np.mean(answerable):.3f}",
                      f"{len(false)} / {len(best) - len(answerable)}", " ".join(false)])
    print(f"Out-of-fold operating points, best candidate (reading model {reading}):\n")
    print(table(["decision", "threshold", "abstain answer_hit", "abstain refused", "seed answer_hit",
                 "seed false", "seed false ids"], lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=BUNDLED, help="where to write the decision")
    parser.add_argument("--curves-only", action="store_true", help="print the out-of-fold operating points only")
    parser.add_argument("--reading", help="key of the cached out-of-fold logits: the reading model's digest, "
                        "with the suffixes of train_verifier.py's options (-epochs2, -contrast, -listwise1, "
                        "-seed1, -candepochs2) (default: today's data)")
    args = parser.parse_args()

    bench = Workbench()
    training, abstain_rows, seed_rows = bench.rows
    reading = args.reading or reading_digest(reading_data())
    if not oof_logits(bench.digest, reading).is_file():
        raise SystemExit("Die Prüfmodell-Werte fehlen: bitte zuerst `python benchmarks/train_verifier.py` ausführen")
    logits: Logits = pickle.loads(oof_logits(bench.digest, reading).read_bytes())
    everything = training + abstain_rows + seed_rows
    fold_sets = folds(bench.articles)

    fold_decisions = [fit_decision([r for r in everything if r.case.article not in held], logits) for held in fold_sets]
    curves = {}
    for name, used in (("Merkmale allein", None), ("mit Prüfmodell", logits)):
        best = {r.case.id: best_candidate(decision, r, used) for held, decision in zip(fold_sets, fold_decisions)
                for r in abstain_rows if r.case.article in held}
        points = curve(best, [r.case for r in abstain_rows])
        curves[name] = (points, operating_point(points))
    if args.curves_only:
        print_operating_points(curves, fold_sets, fold_decisions, seed_rows, logits, reading)
        return
    ranking_threshold = curves["Merkmale allein"][1][0]
    verified_threshold = curves["mit Prüfmodell"][1][0]

    def thresholds(decision: Decision) -> Decision:
        return replace(decision, ranking=replace(decision.ranking, threshold=ranking_threshold),
                       verified=replace(decision.verified, threshold=verified_threshold))

    encoder = None
    results: dict[str, dict[str, list[dict]]] = {"mit Prüfmodell": {}, "Merkmale allein": {}}
    for number, group in enumerate(GROUPS):
        weights = VerifierWeights.load(group_weights(number, bench.digest, reading))
        verifier = Verifier(weights, encoder)
        encoder = verifier.encoder
        for fold in group:
            held, decision = fold_sets[fold], thresholds(fold_decisions[fold])
            for name, used in (("mit Prüfmodell", verifier), ("Merkmale allein", None)):
                for set_name, kb, rows in (("abstain", bench.abstain_index, abstain_rows),
                                           ("seed", bench.seed_index, seed_rows)):
                    assistant = bench.assistant(kb, decision, used)
                    results[name].setdefault(set_name, []).extend(
                        score_answers(assistant, [r.case for r in rows if r.case.article in held]))

    about = (f"python benchmarks/answer_model.py, {date.today().isoformat()}: logistic regressions on "
             f"{sum(len(r.matrix) for r in everything)} candidates of {len(everything)} questions (xquad-de-dev "
             f"articles in {VARIANTS} versions with two of five paragraphs removed, xquad-de-abstain-dev, and "
             f"{SEED_TRAINING.name} over the seed documents), the verified stage on the {VERIFY} best candidates "
             f"with the out-of-fold verifier logits of benchmarks/train_verifier.py; thresholds from the curves "
             f"cross-validated by article (at least {MIN_REFUSED:.0%} of unanswerable questions refused)")
    final = thresholds(fit_decision(everything, logits, about))
    final.save(args.output)
    plot(curves, CURVE)

    summary = {name: {set_name: totals(rows) for set_name, rows in by_set.items()} for name, by_set in results.items()}
    columns = list(next(iter(summary["mit Prüfmodell"].values())))
    weights = sorted(zip(final.verified.features, final.verified.coef), key=lambda item: -abs(item[1]))
    points = curves["mit Prüfmodell"][0]
    text = "\n".join([
        f"Through the whole assistant, cross-validated by article ({FOLDS} folds; thresholds "
        f"{verified_threshold:.3f} with the verifier, {ranking_threshold:.3f} for the features alone):", "",
        table(["set", "decision", *columns], [[set_name, name, *values.values()] for name, by_set in summary.items()
                                               for set_name, values in by_set.items()]), "",
        "Curve with the verifier (out-of-fold, best candidate, xquad-de-abstain-dev): threshold, answer_hit, "
        "share of unanswerable refused", "",
        table(["threshold", "answer_hit", "refused"], [(f"{t:.3f}", f"{h:.3f}", f"{r:.3f}") for t, h, r in points[::10]]),
        "", "Largest weights of the verified stage (standardised features):", "",
        table(["feature", "weight"], [(name, f"{weight:+.2f}") for name, weight in weights[:12]]),
    ])
    write_result("answer_model", {"thresholds": {"verified": verified_threshold, "ranking": ranking_threshold},
                                  "cross_validated": summary, "curves": {k: v[0] for k, v in curves.items()},
                                  "answers": results}, text)
    shown = args.output.relative_to(PROJECT) if args.output.is_relative_to(PROJECT) else args.output
    print(f"\ndecision written to {shown}")


if __name__ == "__main__":
    main()
