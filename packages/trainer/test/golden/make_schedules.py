#!/usr/bin/env python3
"""Golden learning rates for test/schedule.test.ts from Transformers itself.

For each case, builds torch AdamW on one parameter at the case's base lr, asks `transformers.get_scheduler` for the
named schedule (with `scheduler_specific_kwargs` = the case's lr_scheduler_kwargs, as the HF Trainer passes them),
and records the lr after every scheduler step: lrs[k] is the lr the update making step k+1 uses. Written to
schedules.json (committed; `npm test` needs no Python). To regenerate, in a venv from the image's wheel mirror
(see docs ENVIRONMENT.md):

    /tmp/ref-venv/bin/python packages/trainer/test/golden/make_schedules.py
"""
import json
import os

import torch
import transformers
from transformers import get_scheduler

HERE = os.path.dirname(os.path.abspath(__file__))

CASES = [
    ("cosine_with_restarts", 40, 4, {}),
    ("cosine_with_restarts", 40, 4, {"num_cycles": 3}),
    ("cosine_with_restarts", 10, 0, {"num_cycles": 2}),
    ("polynomial", 30, 3, {}),
    ("polynomial", 30, 3, {"lr_end": 1e-5, "power": 2.0}),
    ("polynomial", 12, 0, {"power": 0.5}),
    ("inverse_sqrt", 30, 5, {}),
    ("inverse_sqrt", 30, 0, {}),
    ("cosine_with_min_lr", 40, 4, {"min_lr_rate": 0.1}),
    ("cosine_with_min_lr", 40, 0, {"min_lr": 1e-5}),
    ("cosine_with_min_lr", 40, 4, {"min_lr_rate": 0.05, "num_cycles": 1.0}),
    ("warmup_stable_decay", 40, 4, {"num_decay_steps": 10}),
    ("warmup_stable_decay", 40, 4, {"num_decay_steps": 10, "num_stable_steps": 20, "min_lr_ratio": 0.1}),
    ("warmup_stable_decay", 40, 6, {"num_decay_steps": 12, "warmup_type": "cosine", "decay_type": "1-sqrt"}),
    ("warmup_stable_decay", 40, 6, {"num_decay_steps": 12, "warmup_type": "1-sqrt", "decay_type": "linear", "min_lr_ratio": 0.2}),
    ("cosine", 40, 4, {"num_cycles": 1.5}),
    ("linear", 20, 2, {}),
    ("constant_with_warmup", 20, 5, {}),
]
BASE_LR = 2e-4


def lrs(name, total, warmup, kwargs):
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([param], lr=BASE_LR)
    sched = get_scheduler(name, opt, num_warmup_steps=warmup, num_training_steps=total, scheduler_specific_kwargs=dict(kwargs))
    out = []
    for _ in range(total + 2):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


cases = [
    {"type": n, "totalSteps": t, "warmupSteps": w, "kwargs": kw, "baseLr": BASE_LR, "lrs": lrs(n, t, w, kw)}
    for n, t, w, kw in CASES
]
with open(os.path.join(HERE, "schedules.json"), "w") as f:
    json.dump({"transformers": transformers.__version__, "torch": torch.__version__, "cases": cases}, f, indent=1)
    f.write("\n")
print(f"wrote {len(cases)} cases")
