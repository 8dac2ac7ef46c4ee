"""Instruction data and causal-LM evaluation on tiny models: response-only loss masking,
chat-template rendering, truncation, splits, answer ranking and exact match."""
from __future__ import annotations

import json
import math
import random
from dataclasses import replace

import pytest

torch = pytest.importorskip("torch")

from bench.evaluate_lm import answer_sequences, evaluate_lm  # noqa: E402
from bench.tasks import TASKS  # noqa: E402
from bench.tasks.instruct import (ALPACA_NO_INPUT, TEST_FRACTION, InstructCollate,  # noqa: E402
                                  Row, encode, prompt_ids, response_ids)
from bench.tasks.prepare import clear_cache, prepare  # noqa: E402
from bench.tasks.spec import Task  # noqa: E402
from tiny import minilm_tokenizer, tiny_llama  # noqa: E402

CHAT = ("{% for m in messages %}<{{ m['role'] }}> {{ m['content'] }} [SEP] {% endfor %}"
        "{% if add_generation_prompt %}<assistant> {% endif %}")


@pytest.fixture(scope="module")
def tok():
    return minilm_tokenizer()


def write_instructions(path, n: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    rows = [{"instruction": f"say the colour of item {i}", "input": rng.choice(["", "red"]),
             "output": rng.choice(["red", "blue green", "yellow"])} for i in range(n)]
    path.write_text(json.dumps(rows))
    return str(path)


def free_task(tmp_path, n=40) -> Task:
    write_instructions(tmp_path / "train.json", n)
    return Task("toy_alpaca", kind="instruction", text=("instruction", "input"),
                label="output", metrics=("loss", "perplexity", "token_accuracy"),
                primary="token_accuracy", files={"train": "train.json"})


def sentiment_task(tmp_path) -> Task:
    lines = ["sentence,label"] + [f"a {'good' if i % 2 else 'bad'} film {i},{i % 2}"
                                  for i in range(40)]
    (tmp_path / "s_train.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "s_test.csv").write_text("\n".join(lines[:13]) + "\n")
    return replace(TASKS["sst2_instruct"], folder=None, name="toy_sst2_instruct",
                   files={"train": "s_train.csv", "test": "s_test.csv"})


def test_labels_are_minus_100_on_the_prompt_and_padding(tok):
    row = Row("say the colour", "of the sky", "blue green")
    ex = encode(tok, row, 64)
    prompt = prompt_ids(tok, row.instruction, row.input)
    n = ex["prompt_len"]
    assert n == len(prompt) and ex["input_ids"][:n] == prompt
    assert ex["labels"][:n] == [-100] * n
    assert ex["labels"][n:] == ex["input_ids"][n:] == response_ids(tok, "blue green")
    assert tok.decode(ex["labels"][n:]) == "blue green [SEP]"  # the end token is a target
    short = encode(tok, Row("hi", "", "red"), 64)
    batch = InstructCollate(tok)([ex, short])
    pad = len(ex["input_ids"]) - len(short["input_ids"])
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    assert batch["labels"][1, -pad:].tolist() == [-100] * pad
    assert batch["attention_mask"][1, -pad:].tolist() == [0] * pad
    assert batch["input_ids"][1, -pad:].tolist() == [tok.pad_token_id] * pad


def test_the_model_loss_covers_only_response_tokens(tok):
    exs = [encode(tok, Row("name a colour", "", out), 64) for out in ("red", "blue green")]
    batch = InstructCollate(tok)(exs)
    model = tiny_llama(seed=1)
    with torch.no_grad():
        loss = model(**batch).loss.item()
        logits = model(input_ids=batch["input_ids"],
                       attention_mask=batch["attention_mask"]).logits
    logp = torch.log_softmax(logits[:, :-1].float(), -1)
    terms = [-logp[b, t, batch["input_ids"][b, t + 1]].item() for b, ex in enumerate(exs)
             for t in range(ex["prompt_len"] - 1, len(ex["input_ids"]) - 1)]
    assert loss == pytest.approx(sum(terms) / len(terms), rel=1e-5)
    assert len(terms) == sum(len(response_ids(tok, o)) for o in ("red", "blue green"))


def test_alpaca_format_without_a_chat_template_and_the_chat_template_with_one(tok):
    text = tok.decode(prompt_ids(tok, "name a colour", ""))
    assert text.replace(" ", "") == ALPACA_NO_INPUT.format(
        instruction="name a colour").lower().replace(" ", "").replace("\n", "")
    chat = minilm_tokenizer()
    chat.chat_template = CHAT
    ex = encode(chat, Row("name a colour", "of grass", "green"), 64)
    assert chat.decode(ex["input_ids"]) == \
        "< user > name a colour of grass [SEP] < assistant > green [SEP]"
    assert chat.decode(ex["input_ids"][:ex["prompt_len"]]).endswith("< assistant >")


def test_long_inputs_are_shortened_and_answers_kept_whole(tok):
    row = Row("is this positive?", " ".join(["very long review"] * 60), "positive", 1)
    choices = [response_ids(tok, w) for w in ("negative", "positive")]
    ex = encode(tok, row, 32, choices)
    assert len(ex["input_ids"]) <= 32
    assert ex["labels"][ex["prompt_len"]:] == choices[1]
    free = encode(tok, Row("write", "", " ".join(["word"] * 80)), 24)
    assert len(free["input_ids"]) == 24 and free["prompt_len"] < 24
    assert encode(tok, Row("x " * 50, "", "y"), 3, [[5, 6, 7, 8]]) is None


def test_a_task_without_a_test_file_holds_out_a_fixed_test_split(tok, tmp_path):
    clear_cache()
    task = free_task(tmp_path, n=50)
    a = prepare(task, tok, max_length=64, data_dir=None, base_dir=str(tmp_path), seed=0)
    b = prepare(task, tok, max_length=64, data_dir=None, base_dir=str(tmp_path), seed=3,
                max_train_samples=10)
    assert len(a.test) == round(50 * TEST_FRACTION) and "held out" in a.test_source
    assert [e["input_ids"] for e in a.test] == [e["input_ids"] for e in b.test]
    seen = {tuple(e["input_ids"]) for e in a.train + a.validation}
    assert not seen & {tuple(e["input_ids"]) for e in a.test}
    assert len(a.train) + len(a.validation) == 45 and len(b.train) == 10
    assert a.num_labels == 0 and isinstance(a.collate, InstructCollate)


def test_classification_as_instruction_maps_classes_to_answer_words(tok, tmp_path):
    clear_cache()
    task = sentiment_task(tmp_path)
    p = prepare(task, tok, max_length=64, data_dir=None, base_dir=str(tmp_path))
    assert p.num_labels == 2 and len(p.test) == 12
    for ex in p.test:
        answer = ("negative", "positive")[ex["answer"]]
        assert tok.decode(ex["choices"][ex["answer"]]) == f"{answer} [SEP]"
        assert ex["labels"][ex["prompt_len"]:] == ex["choices"][ex["answer"]]
        assert ("good" in tok.decode(ex["input_ids"])) == (ex["answer"] == 1)


def test_rank_classification_picks_the_most_likely_answer(tok, tmp_path):
    clear_cache()
    task = sentiment_task(tmp_path)
    p = prepare(task, tok, max_length=64, data_dir=None, base_dir=str(tmp_path))
    model = tiny_llama(seed=2)
    ev = evaluate_lm(model, p.test, collate=p.collate, batch_size=5, task=task)
    want = []
    for ex in p.test:
        seqs = answer_sequences(ex)
        with torch.no_grad():
            scores = [model(**p.collate([s])).loss.item() * len(s["labels"][ex["prompt_len"]:])
                      for s in seqs]
        want.append(min(range(2), key=scores.__getitem__))
    assert ev.preds == want and ev.labels == [ex["answer"] for ex in p.test]
    assert ev.metrics["accuracy"] == pytest.approx(
        sum(a == b for a, b in zip(want, ev.labels)) / len(want))
    assert ev.metrics["perplexity"] == pytest.approx(math.exp(ev.metrics["loss"]))
    assert 0 <= ev.metrics["token_accuracy"] <= 1 and 0 <= ev.metrics["exact_match"] <= 1


def test_exact_match_equals_greedy_generation(tok):
    # teacher-forced: greedy decoding reproduces a reference iff every reference token is
    # the argmax given the reference prefix; check against model.generate itself
    model = tiny_llama(seed=4)
    exs = []
    for i in range(6):
        prompt = prompt_ids(tok, f"continue the list {i}", "a b c" if i % 2 else "")
        out = model.generate(input_ids=torch.tensor([prompt]), max_new_tokens=3,
                             do_sample=False, pad_token_id=0)[0, len(prompt):].tolist()
        ref = out if i % 3 else out[:1] + [(out[1] + 1) % 1000 + 1000] + out[2:]
        exs.append({"input_ids": prompt + ref, "attention_mask": [1] * (len(prompt) + 3),
                    "labels": [-100] * len(prompt) + ref, "prompt_len": len(prompt)})
    task = Task("toy_lm", kind="instruction", metrics=("loss",), primary="loss")
    ev = evaluate_lm(model, exs, collate=InstructCollate(tok), batch_size=4, task=task)
    assert ev.metrics["exact_match"] == pytest.approx(4 / 6)  # i = 0 and 3 were altered
    # altered examples lose token 2, and maybe token 3 (its prefix changed)
    assert 14 / 18 <= ev.metrics["token_accuracy"] <= 16 / 18


@pytest.mark.parametrize("method", ["prompt", "lora", "prefix"])
def test_peft_models_evaluate(tok, tmp_path, method):
    # prompt tuning prepends virtual tokens: the logits must be read off the last positions
    from bench.methods import METHODS
    from bench.methods._base import Context

    clear_cache()
    task = sentiment_task(tmp_path)
    p = prepare(task, tok, max_length=64, data_dir=None, base_dir=str(tmp_path))
    applied = METHODS[method](tiny_llama(seed=3), Context(kind="causal_lm"),
                              **({"num_virtual_tokens": 4} if method != "lora" else {}))
    ev = evaluate_lm(applied.model, p.test[:6], collate=p.collate, batch_size=4, task=task)
    with torch.no_grad():
        batch = p.collate(p.test[:6])
        counts = (batch["labels"][:, 1:] != -100).sum().item()
        peft_loss = applied.model(**batch).loss.item()  # peft pads labels for virtual tokens
    assert ev.metrics["loss"] == pytest.approx(peft_loss, rel=1e-4)
    assert sum(ev.labels) >= 0 and len(ev.preds) == 6 and counts > 0
    assert 0 <= ev.metrics["exact_match"] <= 1
