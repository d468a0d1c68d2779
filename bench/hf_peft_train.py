"""Transformers + PEFT LoRA training steps on a model directory: the speed anchor bench/compare-hf.ts runs.

The same work as bench/train.ts: LoRA r on every projection (q/k/v/o/gate/up/down, alpha 2r, no dropout), one
sequence of T random tokens a step (labels = inputs), AdamW, clipping at 1.0, torch threads as asked. Precisions:
  fp32          weights and compute in float32
  bf16          float32 weights, bf16 autocast (HF Trainer bf16=True: oneDNN runs the matmuls in bf16, on AMX
                tiles where the CPU has them)
  bf16-weights  the base loaded in bfloat16 (what LLaMA-Factory does with bf16: true), LoRA parameters upcast to
                float32, bf16 autocast
Prints one JSON line.
"""

import argparse
import json
import resource
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--precision", choices=["fp32", "bf16", "bf16-weights"], default="fp32")
ap.add_argument("--steps", type=int, default=3)
ap.add_argument("--seq", type=int, default=512)
ap.add_argument("--rank", type=int, default=16)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--gc", action="store_true", help="gradient checkpointing")
a = ap.parse_args()

torch.set_num_threads(a.threads)
torch.manual_seed(0)
t0 = time.time()
dtype = torch.bfloat16 if a.precision == "bf16-weights" else torch.float32
model = AutoModelForCausalLM.from_pretrained(a.model, dtype=dtype, attn_implementation="sdpa")
if a.gc:
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.enable_input_require_grads()
cfg = LoraConfig(
    r=a.rank,
    lora_alpha=2 * a.rank,
    lora_dropout=0.0,
    target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    task_type="CAUSAL_LM",
)
model = get_peft_model(model, cfg)
params = [p for p in model.parameters() if p.requires_grad]
for p in params:  # LLaMA-Factory upcasts trainable parameters to float32
    p.data = p.data.float()
opt = torch.optim.AdamW(params, lr=1e-4)
load_s = time.time() - t0
ids = torch.randint(0, 151643, (1, a.seq), generator=torch.Generator().manual_seed(7))
model.train()


def step():
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision != "fp32"):
        out = model(input_ids=ids, labels=ids)
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return out.loss.item()


times, cpus, losses = [], [], []
for s in range(a.steps + 1):
    w0, c0 = time.perf_counter(), time.process_time()
    losses.append(step())
    w, c = time.perf_counter() - w0, time.process_time() - c0
    if s > 0:  # the first step warms up allocators and oneDNN's kernel caches
        times.append(w)
        cpus.append(c)
med = sorted(times)[len(times) // 2]
print(
    json.dumps(
        {
            "precision": a.precision,
            "gc": a.gc,
            "median_step_s": med,
            "tokens_per_s": a.seq / med,
            "tokens_per_cpu_s": a.seq * len(times) / sum(cpus),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "load_s": load_s,
            "losses": losses,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        }
    )
)
