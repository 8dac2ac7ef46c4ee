"""Instruction data for causal LMs: rows read from a task's files, rendered as prompts,
tokenized with the loss on the response tokens only.

Rendering: with the tokenizer's chat template when it has one (the instruction, and the
input below it, as one user turn; the generation prompt opens the assistant turn), else
the Alpaca prompt format (`ALPACA`, `ALPACA_NO_INPUT`, as in Taori et al. 2023). The
response is tokenized on its own and followed by the end-of-sequence token (the chat's
end-of-turn), so `input_ids = prompt + response` and `labels = [-100] * len(prompt) +
response`: the prompt is context, never a target. Padding (`InstructCollate`, on the
right) carries label -100 too.

Classification tasks posed as instructions (`sst2_instruct`) also store, per example, the
token ids of every class's answer (`choices`) and the gold class (`answer`), so that
`bench.evaluate_lm` can score accuracy by ranking the answers' likelihoods.

Splits follow `bench.tasks.prepare`: validation is carved out of train (seeded,
stratified by class), then train is subsampled. A task without a held-out file (the
Alpaca subset) first sets aside a fixed `TEST_FRACTION` of its file as the test split,
with its own seed, so the test examples never depend on the suite.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bench.errors import DataError
from bench.tasks.spec import Task

ALPACA = ("Below is an instruction that describes a task, paired with an input that provides "
          "further context. Write a response that appropriately completes the request.\n\n"
          "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n")
ALPACA_NO_INPUT = ("Below is an instruction that describes a task. Write a response that "
                   "appropriately completes the request.\n\n"
                   "### Instruction:\n{instruction}\n\n### Response:\n")
TEST_FRACTION = 0.1  # held out of a task's only file as its test split
TEST_SEED = 1009  # the seed of that carve-out: fixed, independent of every suite setting
KEEP = ("input_ids", "attention_mask", "labels")  # what a training batch holds


@dataclass(frozen=True)
class Row:
    """One instruction example: the instruction, its optional input and the response."""

    instruction: str
    input: str
    output: str
    answer: int = -1  # the class id (classification posed as an instruction), else -1


def answers(task: Task) -> tuple[str, ...]:
    """The answer word of each class in id order (empty for free-form tasks)."""
    from bench.tasks.instruct_tasks import ANSWERS

    if not task.labels:
        return ()
    words = ANSWERS.get(task.name) or tuple(n.replace("_", " ") for n in task.labels)
    if len(words) != len(task.labels) or len(set(words)) != len(words):
        raise DataError(f"task {task.name!r}: answers {list(words)} do not name its "
                        f"{len(task.labels)} classes {list(task.labels)} one-to-one")
    return tuple(words)


def read_rows(task: Task, table: Any, split: str = "train") -> list[Row]:
    """Instruction rows from a raw `bench.tasks.readers.Table` of `task`."""
    from bench.tasks.instruct_tasks import PAIR_NAMES, PROMPTS
    from bench.tasks.load import to_examples

    if task.labels:  # a classification task posed as an instruction
        ex = to_examples(replace(task, kind="classification"), table, split)
        words = answers(task)
        names = PAIR_NAMES.get(task.name, ("Text 1", "Text 2"))
        prompt = PROMPTS.get(task.name) or (
            f"Answer with one of: {', '.join(words)}.")
        return [Row(prompt, t[0] if len(t) == 1 else
                    "\n".join(f"{n}: {s}" for n, s in zip(names, t)), words[y], int(y))
                for t, y in zip(ex.texts, ex.labels)]
    columns = (*task.text, task.label)
    missing = [c for c in (task.text[0], task.label) if c not in table.data]
    if missing:
        raise DataError(f"{table.source}: no column {', '.join(map(repr, missing))} (task "
                        f"{task.name!r} reads the instruction from {task.text[0]!r}, the "
                        f"response from {task.label!r}); available: {', '.join(table.columns)}")
    out = []
    for i, where in enumerate(table.where):
        values = [table.data[c][i] if c in table.data else None for c in columns]
        instruction, extra, output = values[0], values[1] if len(values) > 2 else "", values[-1]
        if not _text(instruction) or not _text(output):
            raise DataError(f"{table.source}: {table.unit} {where} has no "
                            f"{task.text[0] if not _text(instruction) else task.label!r} "
                            "text; fix: fill in or drop that example")
        out.append(Row(str(instruction), str(extra or ""), str(output)))
    return out


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def prompt_ids(tokenizer: Any, instruction: str, text: str) -> list[int]:
    """The rendered prompt's token ids (chat template, else the Alpaca format)."""
    if getattr(tokenizer, "chat_template", None):
        user = instruction + (f"\n\n{text}" if text else "")
        rendered = tokenizer.apply_chat_template([{"role": "user", "content": user}],
                                                 tokenize=False, add_generation_prompt=True)
        return list(tokenizer(rendered, add_special_tokens=False)["input_ids"])
    rendered = (ALPACA.format(instruction=instruction, input=text) if text
                else ALPACA_NO_INPUT.format(instruction=instruction))
    bos = [tokenizer.bos_token_id] if getattr(tokenizer, "bos_token_id", None) is not None \
        else []
    return bos + list(tokenizer(rendered, add_special_tokens=False)["input_ids"])


def end_id(tokenizer: Any) -> int | None:
    """The token closing a response: EOS (the chat's end of turn), else BERT-style SEP."""
    for name in ("eos_token_id", "sep_token_id"):
        value = getattr(tokenizer, name, None)
        if value is not None:
            return int(value)
    return None


def response_ids(tokenizer: Any, output: str) -> list[int]:
    """The response's token ids followed by the end-of-sequence token."""
    end = end_id(tokenizer)
    return list(tokenizer(output, add_special_tokens=False)["input_ids"]) + (
        [end] if end is not None else [])


def _prompt_within(tokenizer: Any, row: Row, room: int) -> list[int] | None:
    """The prompt in at most `room` tokens: the input shortened first, then the prompt's
    start cut (the question and the answer position are at its end); None if room < 1."""
    prompt = prompt_ids(tokenizer, row.instruction, row.input)
    over = len(prompt) - room
    if over > 0 and row.input:
        ids = tokenizer(row.input, add_special_tokens=False)["input_ids"]
        short = tokenizer.decode(ids[:max(0, len(ids) - over - 2)], skip_special_tokens=True)
        prompt = prompt_ids(tokenizer, row.instruction, short)
    if room < 1:
        return None
    return prompt[-room:] if len(prompt) > room else prompt


def encode(tokenizer: Any, row: Row, max_length: int,
           choices: list[list[int]] | None = None) -> dict[str, Any] | None:
    """One tokenized example with response-only labels, or None when nothing fits.

    Free-form responses longer than the room left are cut at `max_length`; a classification
    example always keeps its longest answer whole (the prompt gives way).
    """
    response = response_ids(tokenizer, row.output)
    need = max(len(c) for c in choices) if choices else min(len(response), max_length // 2)
    prompt = _prompt_within(tokenizer, row, max_length - need)
    if prompt is None:
        return None
    response = response[:max_length - len(prompt)]
    ids = prompt + response
    out = {"input_ids": ids, "attention_mask": [1] * len(ids),
           "labels": [-100] * len(prompt) + response, "prompt_len": len(prompt),
           "answer": row.answer}
    if choices:
        out["choices"] = choices
    return out


class InstructCollate:
    """Right-pads a batch: pad token ids, attention mask 0, labels -100 (never a target)."""

    def __init__(self, tokenizer: Any):
        pad = tokenizer.pad_token_id
        self.pad_id = int(pad if pad is not None else (end_id(tokenizer) or 0))

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        width = max(len(f["input_ids"]) for f in features)
        fill = {"input_ids": self.pad_id, "attention_mask": 0, "labels": -100}
        return {k: torch.tensor([f[k] + [fill[k]] * (width - len(f[k])) for f in features],
                                dtype=torch.long) for k in KEEP}


def build(task: Task, tokenizer: Any, max_length: int, data_dir: str | None, base_dir: str,
          max_train: int | None, max_eval: int | None, fraction: float,
          seed: int) -> dict[str, Any]:
    """The parts of a `bench.tasks.prepare.Prepared` for an instruction task."""
    from bench.tasks.splits import carve_validation

    rows, source = _load(task, "train", data_dir, base_dir)
    if _has_test(task):
        test, test_source = _load(task, "test", data_dir, base_dir)
    else:
        rest, held = carve_validation(len(rows), TEST_FRACTION, TEST_SEED, _strata(rows))
        test = [rows[i] for i in held]
        test_source = f"held out {TEST_FRACTION:g} of {source} (seed {TEST_SEED})"
        rows = [rows[i] for i in rest]
    train_idx, val_idx = carve_validation(len(rows), fraction, seed, _strata(rows))
    train = _pick([rows[i] for i in train_idx], max_train, seed)
    val = _pick([rows[i] for i in val_idx], max_eval, seed)
    words = answers(task)
    choices = [response_ids(tokenizer, w) for w in words] or None
    tok = (tokenizer, max_length, choices, task)
    return {"train": _tokenize(train, *tok, "train"),
            "train_source": source, "validation": _tokenize(val, *tok, "validation"),
            "validation_source": f"carve-out {fraction:g} of {source} (seed {seed})",
            "test": _tokenize(_pick(test, max_eval, seed), *tok, "test"),
            "test_source": test_source, "num_labels": len(words),
            "label_names": tuple(task.labels)}


def _has_test(task: Task) -> bool:
    from bench.tasks.load import has_split

    return has_split(task, "test")


def _load(task: Task, split: str, data_dir: str | None, base_dir: str) -> tuple[list[Row], str]:
    from bench.tasks.load import read_split

    table = read_split(task, split, data_dir=data_dir, base_dir=base_dir)
    if len(table) == 0:
        raise DataError(f"{table.source}: the {split!r} split of task {task.name!r} is empty")
    return read_rows(task, table, split), table.source


def _strata(rows: list[Row]) -> list[int]:
    return [r.answer for r in rows]


def _pick(rows: list[Row], n: int | None, seed: int) -> list[Row]:
    from bench.tasks.splits import subsample

    return [rows[i] for i in subsample(_strata(rows), n, seed)]


def _tokenize(rows: list[Row], tokenizer: Any, max_length: int,
              choices: list[list[int]] | None, task: Task, split: str) -> list[dict[str, Any]]:
    out = [e for r in rows if (e := encode(tokenizer, r, max_length, choices)) is not None]
    if rows and not out:
        raise DataError(f"task {task.name!r}: no {split} example fits in max_length = "
                        f"{max_length} tokens with its answer; fix: raise [train] max_length")
    return out
