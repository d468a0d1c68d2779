#!/usr/bin/env python3
"""Golden values for test/model-golden-hf.test.ts, computed by Hugging Face Transformers and PEFT themselves.

For each case a tiny random model of one architecture is built from its Transformers config class, its weights are
perturbed (norm weights away from 1, so that every parameter matters) and written with `save_pretrained` (float32
safetensors + the config.json Transformers writes) to test/golden/<case>/. That directory is then loaded back in
float64 with eager attention; the script records, for a right-padded batch of two rows:

  - logits and the summed shifted cross-entropy of the model with a PEFT LoRA adapter (B random, not zero, so that
    gradients reach A), and the gradient of every LoRA A/B;
  - logits, loss and the gradient of every parameter of the bare model (full fine-tuning).

<case>.json holds the batch, the LoRA spec, the losses and a tensor index; <case>.bin the float32 tensors
(little-endian). The TypeScript test loads the model directory through the core's own loaders (config.json parser,
safetensors reader), so the config keys Transformers writes today (e.g. version 5's `rope_parameters`) are read too.

The fixtures are committed; `npm test` needs no Python. To regenerate (wheels from the image's mirror):

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install --no-index --find-links /opt/pypi/files \\
        --find-links /opt/wheels torch transformers peft
    /tmp/ref/bin/python packages/trainer/test/golden/make_golden_hf.py
"""
import json
import os
import shutil

import torch
import transformers
from peft import LoraConfig, get_peft_model
from transformers import (
    AutoModelForCausalLM,
    Gemma2Config,
    Gemma3TextConfig,
    LlamaConfig,
    MistralConfig,
    Qwen3Config,
)

HERE = os.path.dirname(os.path.abspath(__file__))
ALL = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

CASES = [
    {
        # Qwen3: q/k RMSNorm per head, no q/k/v bias, head_dim (16) apart from hidden/heads (8), tied embeddings.
        "name": "qwen3_qknorm_tied",
        "config": Qwen3Config(
            vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, head_dim=16, rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True,
            max_position_embeddings=128, bos_token_id=1, eos_token_id=2, pad_token_id=0,
        ),
        "lora": {"r": 4, "alpha": 8, "targets": ALL},
        "seed": 31,
    },
    {
        # Llama 3.2 style: rope_scaling llama3 and tied embeddings. original_max_position_embeddings is tiny so that
        # at these positions every frequency band (kept, smoothed, divided by factor) shows in the logits.
        "name": "llama32_rope_llama3_tied",
        "config": LlamaConfig(
            vocab_size=96, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, rms_norm_eps=1e-5, tie_word_embeddings=True, max_position_embeddings=128,
            rope_theta=500000.0,
            rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                          "original_max_position_embeddings": 16, "rope_theta": 500000.0},
            bos_token_id=1, eos_token_id=2,
        ),
        "lora": {"r": 2, "alpha": 4, "targets": ["q_proj", "k_proj", "v_proj", "o_proj", "down_proj"]},
        "seed": 32,
    },
    {
        # Mistral: sliding_window 4 shorter than the batch's 10 tokens, GQA, untied.
        "name": "mistral_window4",
        "config": MistralConfig(
            vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=1, rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
            max_position_embeddings=128, sliding_window=4, bos_token_id=1, eos_token_id=2,
        ),
        "lora": {"r": 4, "alpha": 16, "targets": ALL},
        "seed": 33,
    },
    {
        # Gemma 2: (1 + w) RMSNorms incl. pre/post feed-forward norms, embeddings scaled by sqrt(hidden), GeGLU (tanh),
        # query_pre_attn_scalar (24) apart from head_dim (16), local (sliding_window 4) and global layers alternating,
        # attention and final logit soft-capping small enough to bite at these magnitudes, tied embeddings.
        "name": "gemma2_softcap_window4",
        "config": Gemma2Config(
            vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
            num_key_value_heads=2, head_dim=16, query_pre_attn_scalar=24, rms_norm_eps=1e-6, rope_theta=10000.0,
            sliding_window=4, attn_logit_softcapping=4.0, final_logit_softcapping=5.0, tie_word_embeddings=True,
            max_position_embeddings=128, bos_token_id=2, eos_token_id=1, pad_token_id=0,
        ),
        "lora": {"r": 4, "alpha": 8, "targets": ALL},
        "seed": 34,
    },
    {
        # Gemma 3 text: Gemma 2's layer plus (1 + w) q/k norms, local layers (window 4, sliding_window_pattern 2) with
        # their own RoPE base (rope_local_base_freq), global layers with linear RoPE scaling (as the 4B+ text configs),
        # no soft-capping, untied.
        "name": "gemma3_text_local_global",
        "config": Gemma3TextConfig(
            vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
            num_key_value_heads=1, head_dim=16, query_pre_attn_scalar=20, rms_norm_eps=1e-6, rope_theta=1000000.0,
            rope_local_base_freq=100.0, rope_scaling={"rope_type": "linear", "factor": 8.0}, sliding_window=4,
            sliding_window_pattern=2, tie_word_embeddings=False, max_position_embeddings=128, bos_token_id=2,
            eos_token_id=1, pad_token_id=0,
        ),
        "lora": {"r": 4, "alpha": 16, "targets": ALL},
        "seed": 35,
    },
]


def make_batch(V, g):
    B, T = 2, 10
    key_len = torch.tensor([10, 7])
    ids = torch.randint(3, V, (B, T), generator=g)
    labels = ids.clone()
    labels[0, :3] = -100  # a prompt
    for b in range(B):
        ids[b, key_len[b]:] = 0  # pad id
        labels[b, key_len[b]:] = -100
    return ids, labels, key_len


def loss_sum(logits, labels):
    """transformers ForCausalLMLoss with reduction sum: logits[:, t] predicts labels[:, t + 1]."""
    V = logits.shape[-1]
    shift_logits = logits[:, :-1, :].reshape(-1, V)
    shift_labels = labels[:, 1:].reshape(-1)
    return (torch.nn.functional.cross_entropy(shift_logits, shift_labels, ignore_index=-100, reduction="sum"),
            int((shift_labels != -100).sum()))


def load64(model_dir):
    return AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float64, attn_implementation="eager")


def run_case(case):
    g = torch.Generator().manual_seed(case["seed"])
    torch.manual_seed(case["seed"])
    model = AutoModelForCausalLM.from_config(case["config"], dtype=torch.float32)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("embed_tokens.weight") or name == "lm_head.weight":
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[-1] ** 0.5)
    model_dir = os.path.join(HERE, case["name"])
    shutil.rmtree(model_dir, ignore_errors=True)
    model.save_pretrained(model_dir, safe_serialization=True)
    os.remove(os.path.join(model_dir, "generation_config.json"))  # not read by the core
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    ids, labels, key_len = make_batch(cfg["vocab_size"], g)
    B, T = ids.shape
    mask = (torch.arange(T)[None, :] < key_len[:, None]).long()

    # LoRA on the float64 model: A as PEFT initialises it, B random (float32-representable values).
    spec = case["lora"]
    base = load64(model_dir)
    peft_model = get_peft_model(base, LoraConfig(r=spec["r"], lora_alpha=spec["alpha"], lora_dropout=0.0,
                                                 target_modules=spec["targets"], bias="none"))
    lora32 = {}
    with torch.no_grad():
        for pname, p in peft_model.named_parameters():
            if "lora_" not in pname:
                continue
            v = (p.float() if "lora_A" in pname else 0.2 * torch.randn(p.shape, generator=g)).float()
            p.copy_(v.double())
            lora32[pname.replace(".default", "")] = v
    peft_model.train()  # dropout is 0: train and eval agree
    logits = peft_model(input_ids=ids, attention_mask=mask).logits
    loss, n_tokens = loss_sum(logits, labels)
    loss.backward()
    lora_grads = {pn.replace(".default", ""): p.grad for pn, p in peft_model.named_parameters() if "lora_" in pn}

    # Full fine-tuning: the bare model, every parameter's gradient (tied: lm_head's lands in the embedding).
    full = load64(model_dir)
    full.train()
    logits_base = full(input_ids=ids, attention_mask=mask).logits
    loss_base, _ = loss_sum(logits_base, labels)
    loss_base.backward()
    full_grads = {n: p.grad for n, p in full.named_parameters()}

    blobs, index, offset = [], {}, 0

    def put(key, t):
        nonlocal offset
        a = t.detach().to(torch.float32).contiguous()
        index[key] = {"shape": list(a.shape), "offset": offset}
        blobs.append(a.numpy().tobytes())
        offset += a.numel() * 4

    for k, v in lora32.items():
        put(f"lora/{k}", v)
    put("logits", logits)
    put("logits_base", logits_base)
    for k, v in lora_grads.items():
        put(f"lora_grad/{k}", v)
    for k, v in full_grads.items():
        put(f"full_grad/{k}", v)
    rotary = getattr(full.model, "rotary_emb", None)
    if rotary is not None and hasattr(rotary, "inv_freq"):
        put("inv_freq", rotary.inv_freq)
    elif rotary is not None:  # Gemma 3: one set per layer type
        for t in ("full_attention", "sliding_attention"):
            put(f"inv_freq/{t}", getattr(rotary, f"{t}_inv_freq"))

    manifest = {
        "generator": "test/golden/make_golden_hf.py (transformers %s, peft %s, torch %s; float64, eager)"
        % (transformers.__version__, __import__("peft").__version__, torch.__version__),
        "modelDir": case["name"],
        "lora": {"r": spec["r"], "alpha": spec["alpha"], "dropout": 0.0, "targets": spec["targets"]},
        "batch": {"B": int(B), "T": int(T), "inputIds": ids.reshape(-1).tolist(),
                  "labels": labels.reshape(-1).tolist(), "keyLen": key_len.tolist()},
        "lossSum": float(loss), "lossSumBase": float(loss_base), "nTokens": n_tokens,
        "tensors": index,
    }
    with open(os.path.join(HERE, case["name"] + ".json"), "w") as f:
        json.dump(manifest, f, indent=1)
    with open(os.path.join(HERE, case["name"] + ".bin"), "wb") as f:
        for b in blobs:
            f.write(b)
    print(case["name"], "loss", float(loss), "base", float(loss_base), "tokens", n_tokens, "bytes", offset)


if __name__ == "__main__":
    import sys

    only = sys.argv[1:]  # case names to (re)write; none = all
    for c in CASES:
        if not only or c["name"] in only:
            run_case(c)
