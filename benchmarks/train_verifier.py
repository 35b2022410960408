"""Train the answer verifier (``assistant/answers/verifier.py``) and reproduce its shipped weights.

The verifier is the bundled multilingual-e5-small cut to its first ``LAYERS`` layers, fine-tuned
as a cross-encoder: ``<s> query: Frage </s></s> passage: Einheit </s>`` -> does this unit answer
the question? Two steps, each with a fixed seed:

1. **Reading** (``base``): one epoch over (question, unit) pairs of the QA data in
   ``../shared/training`` (GermanQuAD test part, MLQA German dev, the SQuAD 2.0 dev half with its
   unanswerable questions; provenance and licences in that folder's README), made as
   ``reading_data.py`` describes. No XQuAD, no seed question.
2. **The pipeline's candidates** (``final``): from the reading model, a short fine-tune on the
   candidate units the assistant itself gathers for the training questions of ``answer_data.py``
   (German XQuAD dev articles with paragraphs removed, and the seed-document questions): for each
   question the units that hold the answer and the best ``CANDIDATES`` by the feature model, which
   are what the verifier is asked about when answering.

Step 2 learns from XQuAD and the seed questions, so it is also run once per group of folds
(``answer_data.GROUPS``) without that group's articles; those models score the group's questions
(out of fold), which is what ``benchmarks/answer_model.py`` trains the decision on and reports.
The model of step 2 on all articles is written to ``assistant/answers/models/verifier.npz``.

    python benchmarks/train_verifier.py      # about 2 hours on 2 cores; then benchmarks/answer_model.py

Options for measurements (``benchmarks/README.md`` has their figures; none is in the shipped
weights): ``--contrast`` near-miss negatives, ``--listwise`` a loss over each question's
candidates in step 2, ``--seed`` another batch order in step 2, ``--reading-epochs`` more epochs
of step 1 (a new reading model, about 27 minutes an epoch), ``--candidate-epochs`` more epochs of
step 2. Each keeps its models and out-of-fold logits under its own key (printed by
``answer_model.py --curves-only --reading KEY``); give such runs ``--output`` elsewhere, or the
shipped weights are overwritten.

Timing: float32 on the CPU, 2 threads, batches of 16 pairs sorted by length, 128 tokens at most.
"""

from __future__ import annotations

import argparse
import pickle
import random
import time
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import numpy as np

from answer_data import GROUPS, SEED_TRAINING, WORK, Rows, Workbench, folds, group_weights, oof_logits
from answer_model import fit
from common import table, write_result
from reading_data import LAYERS, READING, Pair, contrast_question, reading_data, reading_digest

from assistant.answers.verifier import BUNDLED, Verifier, VerifierWeights
from assistant.index.e5model import E5Torch

CANDIDATES = 5  # best units by the feature model, per question, in step 2 (the decision verifies 4)
SEED_REPEAT = 3  # the seed questions are few; they count three times in step 2
BATCH = 16


def starting_weights(encoder: E5Torch, seed: int) -> VerifierWeights:
    """The bundled encoder's first ``LAYERS`` layers and a small random head."""
    layers = tuple({name: tensor.numpy() for name, tensor in encoder.layer_weights(i).items()} for i in range(LAYERS))
    head = np.random.default_rng(seed).normal(0.0, 0.02, encoder.dim).astype(np.float32)
    return VerifierWeights(layers, head, 0.0)


def batches(rows: list[list[int]], seed: int) -> list[list[int]]:
    """Indices in batches of similar length (sorted within runs of 50 batches), in seeded order."""
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    result = []
    for start in range(0, len(order), BATCH * 50):
        part = sorted(order[start:start + BATCH * 50], key=lambda i: len(rows[i]))
        result += [part[i:i + BATCH] for i in range(0, len(part), BATCH)]
    random.Random(seed + 1).shuffle(result)
    return result


def question_batches(pairs: Sequence[Pair], seed: int) -> list[list[list[int]]]:
    """Whole questions per batch, each a list of its pairs' indices (a run of pairs with the same
    question; a passage met again starts a new run, as a repeated seed question does), about
    ``BATCH`` pairs per batch, in seeded order."""
    groups: list[list[int]] = []
    seen: set[str] = set()
    for i, pair in enumerate(pairs):
        if not groups or pair.question != pairs[groups[-1][0]].question or pair.passage in seen:
            groups.append([])
            seen = set()
        groups[-1].append(i)
        seen.add(pair.passage)
    random.Random(seed).shuffle(groups)
    result: list[list[list[int]]] = [[]]
    for group in groups:
        if result[-1] and sum(map(len, result[-1])) + len(group) > BATCH:
            result.append([])
        result[-1].append(group)
    return result


def train(verifier: Verifier, start: VerifierWeights, pairs: Sequence[Pair], learning_rate: float,
          head_rate: float, seed: int, about: str, listwise: float = 0.0, epochs: int = 1) -> VerifierWeights:
    """``epochs`` epochs (each in its own seeded order) of binary cross-entropy with AdamW, warm-up
    over the first 5 % of all steps and linear decay.
    With ``listwise`` > 0 each batch holds whole questions, and the loss adds ``listwise`` times the
    softmax cross-entropy of each answerable question's answering units against its other candidates
    (which unit of several answers, not only whether each does)."""
    import torch

    torch.manual_seed(seed)
    layers = [{name: torch.nn.Parameter(torch.from_numpy(array.copy())) for name, array in layer.items()}
              for layer in start.layers]
    head = torch.nn.Parameter(torch.from_numpy(start.head_weight.copy()))
    bias = torch.nn.Parameter(torch.tensor(start.head_bias, dtype=torch.float32))
    rows = [verifier.rows(pair.question, [pair.passage])[0] for pair in pairs]
    labels = torch.tensor([pair.label for pair in pairs], dtype=torch.float32)
    order: list[list[list[int]]] = []
    for epoch_seed in range(seed, seed + 1000 * epochs, 1000):
        order += question_batches(pairs, epoch_seed) if listwise else [[batch] for batch in batches(rows, epoch_seed)]
    optimizer = torch.optim.AdamW([{"params": [p for layer in layers for p in layer.values()], "lr": learning_rate},
                                   {"params": [head, bias], "lr": head_rate}], weight_decay=0.01)
    warm = max(1, len(order) // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warm, max(0.0, (len(order) - step) / max(1, len(order) - warm))))
    started, loss_average = time.time(), 0.0
    for step, questions in enumerate(order, start=1):
        batch = [i for group in questions for i in group]
        logits = verifier.forward([rows[i] for i in batch], layers, head, bias)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels[batch])
        if listwise:
            terms, position = [], 0
            for group in questions:
                part, right = logits[position:position + len(group)], labels[group] > 0.5
                position += len(group)
                if right.any() and not right.all():
                    terms.append(torch.logsumexp(part, 0) - torch.logsumexp(part[right], 0))
            if terms:
                loss = loss + listwise * torch.stack(terms).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for layer in layers for p in layer.values()] + [head, bias], 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        loss_average = loss.item() if step == 1 else 0.98 * loss_average + 0.02 * loss.item()
        if step % 100 == 0 or step == len(order):
            elapsed = time.time() - started
            print(f"  {step}/{len(order)} Schritte, Verlust {loss_average:.3f}, {step * BATCH / elapsed:.1f} Paare/s",
                  flush=True)
    return VerifierWeights(tuple({name: p.detach().numpy().copy() for name, p in layer.items()} for layer in layers),
                           head.detach().numpy().copy(), float(bias.item()), about)


def candidate_pairs(rows: Sequence[Rows], ranking, seed: int, contrast: bool) -> Iterator[Pair]:
    """Step 2's pairs: each question's units that hold the answer and its best ``CANDIDATES`` by
    the feature model (``ranking``); with ``contrast``, also the contrast negative of an answerable
    question with its first answering unit (``reading_data.contrast_question``, swapping for a word
    of the other candidates)."""
    swaps = random.Random(seed)
    for row in rows:
        if not len(row.passages):
            continue
        best = np.argsort(-ranking.probabilities(row.matrix), kind="stable")[:CANDIDATES]
        answering = np.flatnonzero(row.labels).tolist()
        chosen = sorted(set(answering) | set(best.tolist()))
        pairs = [Pair(row.asked, row.passages[i], float(row.labels[i])) for i in chosen]
        if contrast and answering:
            first = row.passages[answering[0]]
            swapped = contrast_question(row.asked, first, [p for p in row.passages if p != first], swaps)
            pairs += [Pair(swapped, first, 0.0)] if swapped else []
        for _ in range(SEED_REPEAT if row.case.set == "seed" else 1):
            yield from pairs


def score(verifier: Verifier, rows: Sequence[Rows]) -> dict[tuple[str, str], np.ndarray]:
    """The verifier's logit for every candidate of every row."""
    return {(row.case.set, row.case.id): verifier.logits(row.asked, row.passages) for row in rows}


def alone(rows: Sequence[Rows], logits: dict[tuple[str, str], np.ndarray]) -> dict[str, float]:
    """How the verifier alone does: its best candidate right (answerable questions), and how well
    its best logit separates answerable from unanswerable questions (ROC AUC)."""
    from sklearn.metrics import roc_auc_score

    best = [(bool(r.case.answers), float(np.max(logits[(r.case.set, r.case.id)], initial=-20.0)),
             bool(len(r.labels)) and bool(r.labels[int(np.argmax(logits[(r.case.set, r.case.id)]))])) for r in rows]
    return {"questions": len(rows), "best_right": round(float(np.mean([right for a, _, right in best if a])), 3),
            "auc": round(float(roc_auc_score([a for a, _, _ in best], [p for _, p, _ in best])), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=BUNDLED, help="where to write the shipped weights (.npz)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--contrast", nargs="+", choices=["reading", "candidates"], default=[],
                        help="add contrast negatives to step 1 and/or 2 (measured, not shipped: benchmarks/README.md)")
    parser.add_argument("--listwise", type=float, default=0.0, metavar="WEIGHT",
                        help="step 2: add a listwise loss over each question's candidates (measured, not shipped)")
    parser.add_argument("--reading-epochs", type=int, default=1, metavar="N",
                        help="step 1: N epochs instead of one (measured, not shipped)")
    parser.add_argument("--candidate-epochs", type=int, default=1, metavar="N",
                        help="step 2: N epochs instead of one (measured, not shipped)")
    parser.add_argument("--seed", type=int, default=0,
                        help="step 2: another order of its batches (retraining variance; the shipped weights use 0)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    encoder = E5Torch(dtype="float32")
    verifier = Verifier(starting_weights(encoder, 0), encoder)

    pairs = reading_data("reading" in args.contrast)
    # What the reading model, and step 2's models and logits, are kept by.
    reading_key = reading_digest(pairs) + (f"-epochs{args.reading_epochs}" if args.reading_epochs > 1 else "")
    contrast_candidates = "candidates" in args.contrast
    key = (reading_key + ("-contrast" if contrast_candidates else "")
           + (f"-listwise{args.listwise:g}" if args.listwise else "") + (f"-seed{args.seed}" if args.seed else "")
           + (f"-candepochs{args.candidate_epochs}" if args.candidate_epochs > 1 else ""))
    base_file = WORK / f"verifier-reading-{reading_key}.npz"
    if base_file.is_file():
        base = VerifierWeights.load(base_file)
    else:
        print(f"Schritt 1: {len(pairs)} Paare aus {', '.join(READING)}", flush=True)
        base = train(verifier, starting_weights(encoder, 0), pairs, 4e-5, 8e-4, 0, "reading",
                     epochs=args.reading_epochs)
        WORK.mkdir(parents=True, exist_ok=True)
        base.save(base_file)

    bench = Workbench()
    training, abstain, seed = bench.rows
    everything = training + abstain + seed
    fold_sets = folds(bench.articles)
    ranking = fit(everything, [])  # orders each question's candidates as the decision's first stage does
    about = (f"python benchmarks/train_verifier.py, {date.today().isoformat()}: mE5-small, {LAYERS} layers, "
             f"fine-tuned on {', '.join(READING)} (../shared/training), then on the candidates of "
             f"xquad-de-dev (with paragraphs removed) and {SEED_TRAINING.name}"
             + (f", {args.reading_epochs} epochs in step 1" if args.reading_epochs > 1 else "")
             + (f", contrast negatives in {' and '.join(args.contrast)}" if args.contrast else "")
             + (f", listwise loss weight {args.listwise:g} in step 2" if args.listwise else "")
             + (f", step 2 seed {args.seed}" if args.seed else "")
             + (f", {args.candidate_epochs} epochs in step 2" if args.candidate_epochs > 1 else ""))
    logits: dict[tuple[str, str], np.ndarray] = {}
    for number, group in enumerate(GROUPS):
        held = set().union(*(fold_sets[f] for f in group))
        path = group_weights(number, bench.digest, key)
        if path.is_file():
            weights = VerifierWeights.load(path)
        else:
            pairs = list(candidate_pairs([r for r in training + seed if r.case.article not in held], ranking, number,
                                         contrast_candidates))
            print(f"Schritt 2 ohne die Folds {group}: {len(pairs)} Paare", flush=True)
            weights = train(verifier, base, pairs, 2e-5, 1e-4, 1 + number + 100 * args.seed,
                            about + f", without folds {group}", args.listwise, args.candidate_epochs)
            weights.save(path)
        scored = score(Verifier(weights, encoder), [r for r in everything if r.case.article in held])
        logits.update(scored)
        print(f"Folds {group}, xquad-de-abstain-dev out of fold: "
              f"{alone([r for r in abstain if r.case.article in held], scored)}", flush=True)
    oof_logits(bench.digest, key).write_bytes(pickle.dumps(logits))

    pairs = list(candidate_pairs(training + seed, ranking, len(GROUPS), contrast_candidates))
    print(f"Schritt 2 auf allen Artikeln: {len(pairs)} Paare", flush=True)
    final = train(verifier, base, pairs, 2e-5, 1e-4, 1 + len(GROUPS) + 100 * args.seed, about, args.listwise,
                  args.candidate_epochs)
    final.save(args.output)

    figures = {"xquad-de-abstain-dev": alone(abstain, logits), SEED_TRAINING.name: alone(seed, logits)}
    text = "\n".join(["The verifier alone, out of fold (each question scored by a model that did not see its "
                      "article):", "", table(["set", *figures[SEED_TRAINING.name]],
                                            [[name, *values.values()] for name, values in figures.items()])])
    write_result("train_verifier", {"figures": figures, "about": about}, text)
    print(f"\nverifier written to {args.output}")


if __name__ == "__main__":
    main()
