#!/usr/bin/env python3
"""Golden values for test/model-golden.test.ts from an independent implementation of the same semantics.

A short plain-PyTorch forward of Hugging Face's Qwen2ForCausalLM / LlamaForCausalLM (RMSNorm, rotate_half RoPE,
causal GQA attention with a right-padding key mask, SwiGLU MLP, tied or untied lm_head, shifted cross-entropy with
-100 ignored) with PEFT LoRA on the chosen linears (y = W x + b + (alpha/r) B A x). It is written from the
Transformers/PEFT semantics, not from the TypeScript code it checks, and it runs in float64 so the reference carries
no rounding error of its own beyond storing results as float32.

For each case it writes <case>.json (HF config.json, LoRA spec, batch, tensor index, loss) and <case>.bin
(little-endian float32 tensors: weights, LoRA A/B, logits, LoRA gradients, full fine-tuning gradients).
The fixture is committed; CI does not need torch. To regenerate (Debian: apt-get install -y python3-torch):

    /usr/bin/python3 packages/trainer/test/golden/make_golden.py

Where a machine has transformers + peft installed, the same fixture can be cross-checked with the real libraries
(load the weights into Qwen2ForCausalLM and wrap with get_peft_model); that was not possible on the build machines.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
GROUP = {t: ("self_attn" if t in ("q_proj", "k_proj", "v_proj", "o_proj") else "mlp") for t in TARGETS}

CASES = [
    {
        "name": "qwen2_tied_bias",
        "config": {
            "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 96, "hidden_size": 32,
            "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
            "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": True, "hidden_act": "silu",
            "max_position_embeddings": 128, "use_sliding_window": False,
        },
        "lora": {"r": 4, "alpha": 8, "targets": TARGETS},
        "seed": 1234,
    },
    {
        "name": "llama_untied_gqa4",
        "config": {
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 96, "hidden_size": 32,
            "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1,
            "head_dim": 16, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False,
            "attention_bias": False, "hidden_act": "silu", "max_position_embeddings": 128,
        },
        "lora": {"r": 2, "alpha": 5, "targets": ["q_proj", "v_proj", "o_proj", "down_proj"]},
        "seed": 99,
    },
]


def dims(cfg):
    H = cfg["num_attention_heads"]
    Hkv = cfg.get("num_key_value_heads", H)
    D = cfg.get("head_dim") or cfg["hidden_size"] // H
    return H, Hkv, D


def make_weights(cfg, g):
    """float32 random weights (exactly representable in the fixture), HF names."""
    C, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    H, Hkv, D = dims(cfg)
    qwen = cfg["model_type"] == "qwen2"
    qkv_bias = qwen or cfg.get("attention_bias", False)
    o_bias = (not qwen) and cfg.get("attention_bias", False)
    w = {}

    def rnd(*shape, std=0.15):
        return (torch.randn(*shape, generator=g) * std).float()

    w["model.embed_tokens.weight"] = rnd(V, C, std=0.5)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}"
        shapes = {"q_proj": (H * D, C), "k_proj": (Hkv * D, C), "v_proj": (Hkv * D, C), "o_proj": (C, H * D),
                  "gate_proj": (I, C), "up_proj": (I, C), "down_proj": (C, I)}
        for t in TARGETS:
            name = f"{p}.{GROUP[t]}.{t}"
            w[f"{name}.weight"] = rnd(*shapes[t], std=1.0 / math.sqrt(shapes[t][1]))
            if (t in ("q_proj", "k_proj", "v_proj") and qkv_bias) or (t == "o_proj" and o_bias):
                w[f"{name}.bias"] = rnd(shapes[t][0], std=0.1)
        w[f"{p}.input_layernorm.weight"] = (1 + rnd(C, std=0.2)).float()
        w[f"{p}.post_attention_layernorm.weight"] = (1 + rnd(C, std=0.2)).float()
    w["model.norm.weight"] = (1 + rnd(C, std=0.2)).float()
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = rnd(V, C, std=0.5)
    return w


def make_lora(cfg, spec, w, g):
    """PEFT init for A (kaiming_uniform_(a=sqrt(5)) on [r, in] = U(-1/sqrt(in), 1/sqrt(in))); B random, not zero,
    so that gradients reach A."""
    r = spec["r"]
    lora = {}
    for l in range(cfg["num_hidden_layers"]):
        for t in spec["targets"]:
            name = f"model.layers.{l}.{GROUP[t]}.{t}"
            out_f, in_f = w[f"{name}.weight"].shape
            bound = 1.0 / math.sqrt(in_f)
            lora[f"base_model.model.{name}.lora_A.weight"] = ((torch.rand(r, in_f, generator=g) * 2 - 1) * bound).float()
            lora[f"base_model.model.{name}.lora_B.weight"] = (torch.randn(out_f, r, generator=g) * 0.2).float()
    return lora


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def forward(cfg, w, lora, spec, ids, key_len):
    """Returns logits [B, T, V]. w, lora: float64 tensors (leaf tensors when gradients are wanted)."""
    B, T = ids.shape
    H, Hkv, D = dims(cfg)
    eps = cfg["rms_norm_eps"]
    scale = spec["alpha"] / spec["r"] if spec else 0.0

    def linear(name, x):
        y = F.linear(x, w[f"{name}.weight"], w.get(f"{name}.bias"))
        a = lora.get(f"base_model.model.{name}.lora_A.weight") if lora else None
        if a is not None:
            b = lora[f"base_model.model.{name}.lora_B.weight"]
            y = y + scale * F.linear(F.linear(x, a), b)
        return y

    pos = torch.arange(T, dtype=torch.float64)
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    freqs = pos[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()  # [T, D]

    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    keys_ok = torch.arange(T)[None, :] < key_len[:, None]  # [B, T]
    mask = causal[None, :, :] & keys_ok[:, None, :]  # [B, Tq, Tk]

    x = w["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}"
        h = rms_norm(x, w[f"{p}.input_layernorm.weight"], eps)
        q = linear(f"{p}.self_attn.q_proj", h).view(B, T, H, D).transpose(1, 2)
        k = linear(f"{p}.self_attn.k_proj", h).view(B, T, Hkv, D).transpose(1, 2)
        v = linear(f"{p}.self_attn.v_proj", h).view(B, T, Hkv, D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // Hkv, dim=1)  # transformers' repeat_kv: head h reads kv head h // (H/Hkv)
        v = v.repeat_interleave(H // Hkv, dim=1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(D)
        s = s.masked_fill(~mask[:, None, :, :], float("-inf"))
        att = torch.softmax(s, dim=-1) @ v  # [B, H, T, D]
        att = att.transpose(1, 2).reshape(B, T, H * D)
        x = x + linear(f"{p}.self_attn.o_proj", att)
        h = rms_norm(x, w[f"{p}.post_attention_layernorm.weight"], eps)
        m = F.silu(linear(f"{p}.mlp.gate_proj", h)) * linear(f"{p}.mlp.up_proj", h)
        x = x + linear(f"{p}.mlp.down_proj", m)
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return x @ head.T


def loss_sum(logits, labels):
    """transformers ForCausalLMLoss with reduction sum: logits[:, t] predicts labels[:, t + 1]."""
    V = logits.shape[-1]
    shift_logits = logits[:, :-1, :].reshape(-1, V)
    shift_labels = labels[:, 1:].reshape(-1)
    return F.cross_entropy(shift_logits, shift_labels, ignore_index=-100, reduction="sum"), int((shift_labels != -100).sum())


def make_batch(V, g):
    B, T = 2, 10
    key_len = torch.tensor([10, 7])
    ids = torch.randint(1, V, (B, T), generator=g)
    labels = ids.clone()
    labels[0, :3] = -100  # a prompt
    for b in range(B):
        ids[b, key_len[b]:] = 0  # pad id
        labels[b, key_len[b]:] = -100
    return ids, labels, key_len


def run_case(case):
    cfg, spec = case["config"], case["lora"]
    g = torch.Generator().manual_seed(case["seed"])
    w32 = make_weights(cfg, g)
    lora32 = make_lora(cfg, spec, w32, g)
    ids, labels, key_len = make_batch(cfg["vocab_size"], g)

    # LoRA: base frozen, gradients of A and B
    w = {k: v.double() for k, v in w32.items()}
    lora = {k: v.double().requires_grad_(True) for k, v in lora32.items()}
    logits = forward(cfg, w, lora, spec, ids, key_len)
    loss, n_tokens = loss_sum(logits, labels)
    loss.backward()

    # full fine-tuning: no adapter, gradients of every weight
    wf = {k: v.double().requires_grad_(True) for k, v in w32.items()}
    logits_base = forward(cfg, wf, None, None, ids, key_len)
    loss_base, _ = loss_sum(logits_base, labels)
    loss_base.backward()

    blobs, index, offset = [], {}, 0

    def put(key, t):
        nonlocal offset
        a = t.detach().to(torch.float32).contiguous()
        index[key] = {"shape": list(a.shape), "offset": offset}
        blobs.append(a.numpy().tobytes() if hasattr(a, "numpy") else bytes(a.untyped_storage()))
        offset += a.numel() * 4

    for k, v in w32.items():
        put(f"weight/{k}", v)
    for k, v in lora32.items():
        put(f"lora/{k}", v)
    put("logits", logits)
    put("logits_base", logits_base)
    for k, v in lora.items():
        put(f"lora_grad/{k}", v.grad)
    for k, v in wf.items():
        put(f"full_grad/{k}", v.grad)

    manifest = {
        "generator": "test/golden/make_golden.py (plain PyTorch %s, float64)" % torch.__version__,
        "config": cfg,
        "lora": {"r": spec["r"], "alpha": spec["alpha"], "dropout": 0.0, "targets": spec["targets"]},
        "batch": {"B": int(ids.shape[0]), "T": int(ids.shape[1]), "inputIds": ids.reshape(-1).tolist(),
                  "labels": labels.reshape(-1).tolist(), "keyLen": key_len.tolist()},
        "lossSum": float(loss), "lossSumBase": float(loss_base), "nTokens": n_tokens,
        "tensors": index,
    }
    with open(os.path.join(HERE, case["name"] + ".json"), "w") as f:
        json.dump(manifest, f, indent=1)
    with open(os.path.join(HERE, case["name"] + ".bin"), "wb") as f:
        for b in blobs:
            f.write(b)
    print(case["name"], "loss", float(loss), "tokens", n_tokens, "bytes", offset)


if __name__ == "__main__":
    for c in CASES:
        run_case(c)
