#!/usr/bin/env python3
"""Cross-checks the committed golden fixture against the real libraries: transformers + peft.

make_golden.py is an independent re-implementation of the HF semantics; this script closes the remaining gap by
loading the same weights into Qwen2ForCausalLM / LlamaForCausalLM, wrapping them with PEFT LoRA, and comparing
logits, summed loss and every LoRA gradient with the fixture (float64, eager attention).

NOT RUN on the build machines: they have Debian's python3-torch but no transformers/peft and no index to install
them from. Run it where both are installed (e.g. a GPU machine):

    python3 packages/trainer/test/golden/check_with_transformers.py

It exits non-zero on a mismatch beyond 1e-6 + 1e-5 * |ref| (both sides float64 from the same float32 weights).
"""
import json
import os
import sys

import numpy as np
import torch
from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
from transformers import AutoConfig, AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
ATOL, RTOL = 1e-6, 1e-5


def load(name):
    with open(os.path.join(HERE, name + ".json")) as f:
        m = json.load(f)
    raw = np.fromfile(os.path.join(HERE, name + ".bin"), dtype="<f4")

    def get(key):
        t = m["tensors"][key]
        n = int(np.prod(t["shape"]))
        return torch.from_numpy(raw[t["offset"] // 4: t["offset"] // 4 + n].copy()).reshape(t["shape"])

    def group(prefix):
        return {k[len(prefix):]: get(k) for k in m["tensors"] if k.startswith(prefix)}

    return m, get, group


def close(what, ours, ref):
    err = (ours - ref).abs() - (ATOL + RTOL * ref.abs())
    worst = float(err.max())
    ok = worst <= 0
    print(f"  {what}: {'ok' if ok else 'MISMATCH'} (max excess {worst:.3g})")
    return ok


def check(name):
    m, get, group = load(name)
    print(name)
    config = AutoConfig.for_model(**m["config"])
    config._attn_implementation = "eager"
    model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.float64)
    weights = {k: v.double() for k, v in group("weight/").items()}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    assert not unexpected, unexpected
    assert all(k == "lm_head.weight" for k in missing), missing  # tied: lm_head shares the embedding
    lora = m["lora"]
    peft_model = get_peft_model(model, LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=0.0,
                                                  target_modules=lora["targets"], bias="none"))
    result = set_peft_model_state_dict(peft_model, {k: v.double() for k, v in group("lora/").items()})
    assert not getattr(result, "unexpected_keys", []), result
    peft_model.train()  # dropout is 0: train and eval agree; grads wanted

    b = m["batch"]
    B, T = b["B"], b["T"]
    ids = torch.tensor(b["inputIds"]).reshape(B, T)
    labels = torch.tensor(b["labels"]).reshape(B, T)
    key_len = torch.tensor(b["keyLen"])
    mask = (torch.arange(T)[None, :] < key_len[:, None]).long()
    logits = peft_model(input_ids=ids, attention_mask=mask).logits
    V = logits.shape[-1]
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1),
                                             ignore_index=-100, reduction="sum")
    loss.backward()

    ok = True
    ref_logits = get("logits").double().reshape(B, T, V)
    for r in range(B):
        ok &= close(f"logits row {r}", logits[r, : key_len[r]].detach(), ref_logits[r, : key_len[r]])
    ok &= close("loss sum", loss.detach().reshape(1), torch.tensor([m["lossSum"]], dtype=torch.float64))
    ref_grads = group("lora_grad/")
    seen = 0
    for pname, p in peft_model.named_parameters():
        if "lora_" not in pname:
            continue
        key = pname.replace(".default", "")
        ok &= close(key, p.grad, ref_grads[key].double())
        seen += 1
    assert seen == len(ref_grads), (seen, len(ref_grads))
    return ok


if __name__ == "__main__":
    results = [check(n) for n in ("qwen2_tied_bias", "llama_untied_gqa4")]
    sys.exit(0 if all(results) else 1)
