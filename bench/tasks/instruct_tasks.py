"""Instruction tasks for causal LMs as data rows: free-form instruction data (Alpaca) and
classification tasks posed as instructions, with the words a model answers them with.

A free-form task reads `text = (instruction column, input column)` and `label = output
column`. A classification task keeps the GLUE columns and labels of its source task; the
prompt is `PROMPTS[name]` followed by the example's text, and the answer is the class's
word in `ANSWERS[name]` (class-id order). `bench.tasks.instruct` renders and tokenizes
both; `bench.evaluate_lm` scores them (docs/regimes.md).

The Alpaca subset is one JSON array (`<data_dir>/instruct/alpaca_data_1k.json`) with no
held-out split: a fixed 10% of it is set aside as the test split (`bench.tasks.instruct`).
"""
from __future__ import annotations

from bench.tasks.spec import Task

LM_METRICS = ("loss", "perplexity", "token_accuracy")

INSTRUCT = [
    Task("alpaca", kind="instruction", text=("instruction", "input"), label="output",
         metrics=LM_METRICS, primary="token_accuracy", folder="instruct",
         splits={"train": "alpaca_data_1k"}, sizes={"train": 1000},
         description="Alpaca 1k instruction following (response loss, token accuracy)"),
    Task("sst2_instruct", kind="instruction", text=("sentence",),
         labels=("negative", "positive"),
         metrics=("accuracy", "exact_match", *LM_METRICS), primary="accuracy",
         folder="SST-2", sizes={"train": 67349, "test": 872},
         description="SST-2 sentiment posed to a causal LM as an instruction"),
    Task("rte_instruct", kind="instruction", text=("sentence1", "sentence2"),
         labels=("entailment", "not_entailment"),
         metrics=("accuracy", "exact_match", *LM_METRICS), primary="accuracy",
         folder="RTE", sizes={"train": 2490, "test": 277},
         description="RTE entailment posed to a causal LM as an instruction"),
    Task("mrpc_instruct", kind="instruction", text=("#1 String", "#2 String"),
         label="Quality", labels=("not_equivalent", "equivalent"),
         metrics=("accuracy", "exact_match", *LM_METRICS), primary="accuracy",
         folder="MRPC", sizes={"train": 3668, "test": 408},
         description="MRPC paraphrase posed to a causal LM as an instruction"),
]

# The instruction preceding the example's text (pairs are shown as two labelled lines).
PROMPTS: dict[str, str] = {
    "sst2_instruct": "Is the sentiment of this movie review negative or positive? "
                     "Answer with one word: negative or positive.",
    "rte_instruct": "Does the premise entail the hypothesis? Answer with one word: yes or no.",
    "mrpc_instruct": "Do these two sentences mean the same thing? "
                     "Answer with one word: yes or no.",
}
# How the two texts of a pair are introduced in the prompt.
PAIR_NAMES: dict[str, tuple[str, str]] = {
    "rte_instruct": ("Premise", "Hypothesis"),
    "mrpc_instruct": ("Sentence 1", "Sentence 2"),
}
# The answer word of each class, in class-id order (default: the label name).
ANSWERS: dict[str, tuple[str, ...]] = {
    "sst2_instruct": ("negative", "positive"),
    "rte_instruct": ("yes", "no"),
    "mrpc_instruct": ("no", "yes"),
}
