"""GLUE (Wang et al. 2018, arXiv:1804.07461) and SuperGLUE CB as data rows.

GLUE test labels are hidden, so the official dev set is the held-out `test` split here and
tuning uses a validation carve-out of train (see bench/tasks/splits.py). `sizes` are the
official split sizes (the offline MRPC copy in ../shared/data has 3,667 train rows, one
short). `hub_columns` maps a TSV column to its name on the hub where the two differ.
"""
from __future__ import annotations

from bench.tasks.spec import Task

NLI2 = ("entailment", "not_entailment")
PAIR = ("sentence1", "sentence2")
GLUE_HUB = "nyu-mll/glue"
# The hub's glue/mnli names the TSV's sentence1/sentence2/gold_label differently.
MNLI_HUB = {"sentence1": "premise", "sentence2": "hypothesis", "gold_label": "label"}
MRPC_HUB = {"#1 String": "sentence1", "#2 String": "sentence2", "Quality": "label"}

GLUE = [
    Task("cola", text=("sentence",), labels=("unacceptable", "acceptable"),
         metrics=("matthews_correlation", "accuracy"), primary="matthews_correlation",
         folder="CoLA", columns=("source", "label", "original_label", "sentence"),
         hub=(GLUE_HUB, "cola"), sizes={"train": 8551, "test": 1043},
         description="linguistic acceptability"),
    Task("sst2", text=("sentence",), labels=("negative", "positive"),
         folder="SST-2", hub=(GLUE_HUB, "sst2"), sizes={"train": 67349, "test": 872},
         description="movie review sentiment"),
    Task("mrpc", text=("#1 String", "#2 String"), label="Quality",
         labels=("not_equivalent", "equivalent"), metrics=("accuracy", "f1"),
         folder="MRPC", hub=(GLUE_HUB, "mrpc"), hub_columns=MRPC_HUB,
         sizes={"train": 3668, "test": 408}, description="paraphrase detection"),
    Task("stsb", kind="regression", text=PAIR, label="score",
         metrics=("pearson", "spearmanr"), primary="pearson", folder="STS-B",
         hub=(GLUE_HUB, "stsb"), hub_columns={"score": "label"},
         sizes={"train": 5749, "test": 1500}, description="semantic similarity, 0-5"),
    Task("qqp", text=("question1", "question2"), label="is_duplicate",
         labels=("not_duplicate", "duplicate"), metrics=("accuracy", "f1"), folder="QQP",
         hub=(GLUE_HUB, "qqp"), hub_columns={"is_duplicate": "label"},
         sizes={"train": 363846, "test": 40430}, description="question paraphrase"),
    Task("mnli", text=PAIR, label="gold_label",
         labels=("entailment", "neutral", "contradiction"), folder="MNLI",
         hub=(GLUE_HUB, "mnli"), hub_columns=MNLI_HUB,
         splits={"train": "train", "test": "dev_matched"},
         hub_splits={"train": "train", "test": "validation_matched"},
         sizes={"train": 392702, "test": 9815}, description="NLI, matched dev"),
    Task("mnli_mm", text=PAIR, label="gold_label",
         labels=("entailment", "neutral", "contradiction"), folder="MNLI",
         hub=(GLUE_HUB, "mnli"), hub_columns=MNLI_HUB,
         splits={"train": "train", "test": "dev_mismatched"},
         hub_splits={"train": "train", "test": "validation_mismatched"},
         sizes={"train": 392702, "test": 9832}, description="NLI, mismatched dev"),
    Task("qnli", text=("question", "sentence"), labels=NLI2, folder="QNLI",
         hub=(GLUE_HUB, "qnli"), sizes={"train": 104743, "test": 5463},
         description="question answering NLI"),
    Task("rte", text=PAIR, labels=NLI2, folder="RTE", hub=(GLUE_HUB, "rte"),
         sizes={"train": 2490, "test": 277}, description="textual entailment"),
    Task("wnli", text=PAIR, labels=("not_entailment", "entailment"), folder="WNLI",
         hub=(GLUE_HUB, "wnli"), sizes={"train": 635, "test": 71},
         description="Winograd NLI"),
]

SUPERGLUE = [
    Task("cb", text=("premise", "hypothesis"),
         labels=("entailment", "contradiction", "neutral"), metrics=("accuracy", "f1_macro"),
         folder="CB", splits={"train": "train", "test": "val"},
         hub=("aps/super_glue", "cb"), sizes={"train": 250, "test": 56},
         description="CommitmentBank (SuperGLUE)"),
]
