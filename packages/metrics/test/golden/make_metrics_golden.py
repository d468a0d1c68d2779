"""Reference numbers for @crucible/metrics from the libraries LLaMA-Factory calls.

LLaMA-Factory's ComputeSimilarity (src/llamafactory/train/sft/metric.py) per (prediction, label) pair:
jieba.cut both, rouge_chinese.Rouge().get_scores on the space-joined words (0.0 when a side has no word),
nltk sentence_bleu on the characters with SmoothingFunction().method3, each round(score * 100, 4); the set's
value is float(np.mean(...)) of the rounded rows. This script does the same calls and also records the words
jieba produced and the unrounded scores, so the TypeScript test can compare each stage.

Libraries (none of them is installed from the wheel mirror except nltk and numpy):
  - nltk and numpy: the image's wheel mirror,
      python3 -m venv /tmp/metrics-venv && /tmp/metrics-venv/bin/pip install --no-index \
        --find-links /opt/pypi/files nltk numpy six
  - jieba 0.42.1: the sources of github.com/fxsjy/jieba (HEAD, 0.42.1), with jieba/dict.txt taken from Debian's
    python3-jieba 0.42.1 (`apt-get download python3-jieba`, `dpkg-deb -x`) because the source snapshot lacks the
    large file; the script checks its git blob hash against the one in jieba's tree (fc6075f6...).
  - rouge_chinese 1.0.3: the sources of github.com/Isaac-JL-Chen/rouge_chinese.
Run (JIEBA_SRC holds the jieba/ package, ROUGE_SRC the rouge_chinese/ package):
  JIEBA_SRC=... ROUGE_SRC=... /tmp/metrics-venv/bin/python make_metrics_golden.py
It reads metrics_cases.json and writes metrics_golden.json beside itself.
"""

import hashlib
import json
import os
import platform
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.environ["JIEBA_SRC"], os.environ["ROUGE_SRC"]]

import jieba  # noqa: E402
import nltk  # noqa: E402
import numpy as np  # noqa: E402
import rouge_chinese  # noqa: E402
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu  # noqa: E402
from rouge_chinese import Rouge  # noqa: E402

DICT_BLOB = "fc6075f64943e1861c420db4da38063de9d8afc5"  # jieba/dict.txt in fxsjy/jieba at 0.42.1


def git_blob_hash(path):
    data = open(path, "rb").read()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def main():
    dict_path = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    got = git_blob_hash(dict_path)
    if got != DICT_BLOB:
        sys.exit(f"{dict_path} is not jieba 0.42.1's dictionary (blob {got}, expected {DICT_BLOB})")
    jieba.setLogLevel(60)

    cases = json.load(open(os.path.join(HERE, "metrics_cases.json"), encoding="utf-8"))
    rows = []
    score_dict = {"rouge-1": [], "rouge-2": [], "rouge-l": [], "bleu-4": []}
    for case in cases:
        pred, label = case["predict"], case["label"]
        hypothesis = list(jieba.cut(pred))
        reference = list(jieba.cut(label))
        if len(" ".join(hypothesis).split()) == 0 or len(" ".join(reference).split()) == 0:
            result = {"rouge-1": {"f": 0.0}, "rouge-2": {"f": 0.0}, "rouge-l": {"f": 0.0}}
        else:
            result = Rouge().get_scores(" ".join(hypothesis), " ".join(reference))[0]
        bleu = sentence_bleu([list(label)], list(pred), smoothing_function=SmoothingFunction().method3)
        rounded = {k: round(v["f"] * 100, 4) for k, v in result.items()}
        rounded["bleu-4"] = round(bleu * 100, 4)
        for k in score_dict:
            score_dict[k].append(rounded[k])
        rows.append(
            {
                **case,
                "predict_words": hypothesis,
                "label_words": reference,
                "raw": {"bleu-4": float(bleu), **{k: v["f"] for k, v in result.items()}},
                "scores": rounded,
            }
        )
    mean = {k: float(np.mean(v)) for k, v in score_dict.items()}

    # The helpers on their own: round(x, 4) at exact ties and next to them, np.mean over more than 128 values
    # (NumPy's pairwise summation recurses there), math.fsum-based BLEU needs nothing extra.
    rnd = random.Random(16)
    round_inputs = [j / 32 for j in range(1, 200, 2)] + [rnd.uniform(0, 100) for _ in range(200)]
    round_inputs += [12.34565, 0.00005, 0.00015, 99.99995, 1e-9]
    mean_inputs = [[rnd.uniform(0, 100) for _ in range(n)] for n in (5, 77, 129, 300, 1000)]

    out = {
        "versions": {
            "python": platform.python_version(),
            "jieba": jieba.__version__,
            "rouge_chinese": rouge_chinese.__version__,
            "nltk": nltk.__version__,
            "numpy": np.__version__,
        },
        "rows": rows,
        "mean": mean,
        "round_check": [[x, round(x, 4)] for x in round_inputs],
        "mean_check": [{"values": v, "mean": float(np.mean(v))} for v in mean_inputs],
    }
    with open(os.path.join(HERE, "metrics_golden.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(json.dumps(mean))


if __name__ == "__main__":
    main()
