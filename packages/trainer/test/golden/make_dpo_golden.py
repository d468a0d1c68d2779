#!/usr/bin/env python3
"""Golden values for test/preference-golden.test.ts: preference training (stage dpo) on a tiny random Qwen2 with LoRA.

The model is make_golden.py's float64 forward of Qwen2ForCausalLM with PEFT LoRA (same weights recipe). On top of it
this script computes, for each pref_loss, what LLaMA-Factory's CustomDPOTrainer does (train/dpo/trainer.py):
  * one forward batch: P chosen rows then P rejected rows (concatenated_forward);
  * per-row log-probs = sum of log p(label) over labelled positions after the shift (get_batch_logps), divided by
    the labelled count for ipo / orpo / simpo, for the policy and the reference alike;
  * reference = the same model with the LoRA adapter disabled (disable_adapter()); none for orpo / simpo;
  * sigmoid / hinge / ipo: TRL's DPOTrainer.dpo_loss; orpo / simpo: LLaMA-Factory's odds_ratio_loss / simpo_loss;
  * pref_ftx adds ftx * -(chosen logps / chosen length); the loss is the mean over pairs;
  * rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins, logps/chosen, logps/rejected as logged.
When TRL is importable (a venv with torch transformers peft trl from the wheel mirror, docs/ENVIRONMENT.md), step 1
of sigmoid / hinge / ipo is ALSO run through TRL's own DPOTrainer._compute_loss on the real Transformers Qwen2 + PEFT
LoRA model (float64), and the script stops if its loss or any LoRA gradient differs from the formulas here by more
than 1e-5 relative (TRL 1.x has no label smoothing for sigmoid and no orpo/simpo: those use the formulas only).

KTO (stage kto): 4 rows (desirable, undesirable, ...) and their KL rows (each prompt with the previous row's
completion) on the same model; TRL's KTOTrainer.kto_loss as LLaMA-Factory's CustomKTOTrainer calls it (kl detached
and clamped at 0, losses.nanmean(), pref_ftx rescaled by / n_desirable * batch size). With TRL importable, step 1
of the case without pref_ftx also runs TRL's own KTOTrainer._compute_loss on the Qwen2 + PEFT model (KL rows included,
reference = adapter disabled), and the script stops if loss or gradients differ by more than 1e-5 relative.

Then, for every case, STEPS optimizer steps of torch.optim.AdamW (lr LR, weight decay 0, no clipping) on the LoRA parameters: the
per-step losses and metrics and the adapter after the last step are written.

Output: dpo_golden.json (config, batch, per-loss expectations, tensor index) and dpo_golden.bin (float32 tensors:
weights, initial LoRA, LoRA gradients of step 1, LoRA after STEPS). The test needs no Python. To regenerate:

    python3 packages/trainer/test/golden/make_dpo_golden.py   (torch required; trl optional, see above)
"""
import json
import os
import sys
import types

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_golden import CASES, forward, make_lora, make_weights  # noqa: E402

STEPS = 3
LR = 1e-3
LOSSES = [
    {"name": "sigmoid", "beta": 0.1, "ftx": 0.0, "label_smoothing": 0.0},
    {"name": "sigmoid_ls_ftx", "loss": "sigmoid", "beta": 0.3, "ftx": 0.5, "label_smoothing": 0.2},
    {"name": "hinge", "beta": 0.5, "ftx": 0.0, "label_smoothing": 0.0},
    {"name": "ipo", "beta": 0.1, "ftx": 0.0, "label_smoothing": 0.0},
    {"name": "orpo", "beta": 0.1, "ftx": 0.0, "label_smoothing": 0.0},
    {"name": "simpo", "beta": 2.0, "ftx": 0.0, "label_smoothing": 0.0, "simpo_gamma": 0.5},
]


def make_pairs(V, g):
    """P = 2 pairs: shared prompts (labels -100), completions of different lengths; right padded with 0."""
    P, T = 2, 12
    prompt_len = [3, 5]
    lens = {"chosen": [9, 12], "rejected": [11, 7]}
    ids = torch.zeros(2 * P, T, dtype=torch.long)
    labels = torch.full((2 * P, T), -100, dtype=torch.long)
    key_len = torch.zeros(2 * P, dtype=torch.long)
    for i in range(P):
        prompt = torch.randint(1, V, (prompt_len[i],), generator=g)
        for k, side in enumerate(["chosen", "rejected"]):
            row = k * P + i
            n = lens[side][i]
            ids[row, : prompt_len[i]] = prompt
            ids[row, prompt_len[i] : n] = torch.randint(1, V, (n - prompt_len[i],), generator=g)
            labels[row, prompt_len[i] : n] = ids[row, prompt_len[i] : n]
            key_len[row] = n
    return ids, labels, key_len


KTO_CASES = [
    {"name": "kto", "beta": 0.1, "ftx": 0.0, "desirable_weight": 1.0, "undesirable_weight": 1.0},
    {"name": "kto_weighted_ftx", "beta": 0.5, "ftx": 0.3, "desirable_weight": 1.0, "undesirable_weight": 1.5},
]


def pad_rows(rows, T):
    ids = torch.zeros(len(rows), T, dtype=torch.long)
    labels = torch.full((len(rows), T), -100, dtype=torch.long)
    key_len = torch.zeros(len(rows), dtype=torch.long)
    for r, (prompt, comp) in enumerate(rows):
        n = len(prompt) + len(comp)
        ids[r, :n] = torch.cat([prompt, comp])
        labels[r, len(prompt) : n] = comp
        key_len[r] = n
    return ids, labels, key_len


def make_kto_rows(V, g):
    """4 KTO rows (desirable, undesirable, desirable, undesirable) and their KL rows: each prompt with the previous
    row's completion, the first with the last's (FeedbackDatasetProcessor's +1 offset)."""
    prompts = [torch.randint(1, V, (n,), generator=g) for n in (3, 4, 2, 5)]
    comps = [torch.randint(1, V, (n,), generator=g) for n in (5, 3, 6, 4)]
    tags = [True, False, True, False]
    rows = list(zip(prompts, comps))
    kl = [(prompts[i], comps[(i - 1) % 4]) for i in range(4)]
    return pad_rows(rows, 11), pad_rows(kl, 11), tags


def kto_loss(spec, lp, rp, kl_lp, kl_rp, tags, lengths):
    """TRL KTOTrainer.kto_loss + LLaMA-Factory CustomKTOTrainer.get_batch_loss_metrics (losses.nanmean(), pref_ftx
    rescaled by / n_chosen * batch size)."""
    beta = spec["beta"]
    tags = torch.tensor(tags)
    kl = (kl_lp - kl_rp).mean().detach().clamp(min=0)
    lr = lp - rp
    chosen_losses = 1 - torch.sigmoid(beta * (lr[tags] - kl))
    rejected_losses = 1 - torch.sigmoid(beta * (kl - lr[~tags]))
    losses = torch.cat((spec["desirable_weight"] * chosen_losses, spec["undesirable_weight"] * rejected_losses), 0)
    loss = losses.nanmean()
    n_c = int(tags.sum())
    if spec["ftx"] > 1e-6 and n_c > 0:
        sft = -(lp[tags] / lengths[tags])
        loss = loss + spec["ftx"] * sft.nanmean() / n_c * len(tags)
    cr, rr = beta * lr[tags].detach(), beta * lr[~tags].detach()
    metrics = {
        "rewards/chosen": float(cr.mean()), "rewards/rejected": float(rr.mean()),
        "rewards/margins": float(cr.mean() - rr.mean()),
        "logps/chosen": float(lp[tags].detach().mean()), "logps/rejected": float(lp[~tags].detach().mean()),
        "kl": float(kl),
    }
    return loss, metrics


def row_logps(logits, labels):
    """get_batch_logps: sum of log p(label) over labels != -100 after the shift, and the counts."""
    lg = logits[:, :-1, :]
    lb = labels[:, 1:].clone()
    mask = lb != -100
    lb[~mask] = 0
    per_token = torch.gather(lg.log_softmax(-1), 2, lb.unsqueeze(2)).squeeze(2)
    return (per_token * mask).sum(-1), mask.sum(-1)


def pref_loss(spec, pc, pr, rc, rr, chosen_len):
    beta, loss_type = spec["beta"], spec.get("loss", spec["name"])
    if loss_type == "orpo":
        log_odds = (pc - pr) - (torch.log1p(-torch.exp(pc)) - torch.log1p(-torch.exp(pr)))
        losses = -pc + beta * -F.logsigmoid(log_odds)
        cr, rr_ = beta * pc.detach(), beta * pr.detach()
    elif loss_type == "simpo":
        logits = (pc - pr) - spec["simpo_gamma"] / beta
        losses = -F.logsigmoid(beta * logits)
        cr, rr_ = beta * pc.detach(), beta * pr.detach()
    else:
        logits = (pc - pr) - (rc - rr)
        if loss_type == "sigmoid":
            ls = spec["label_smoothing"]
            losses = -F.logsigmoid(beta * logits) * (1 - ls) - F.logsigmoid(-beta * logits) * ls
        elif loss_type == "hinge":
            losses = torch.relu(1 - beta * logits)
        else:
            losses = (logits - 1 / (2 * beta)) ** 2
        cr, rr_ = beta * (pc - rc).detach(), beta * (pr - rr).detach()
    if spec["ftx"] > 1e-6:
        avg = pc if loss_type in ("ipo", "orpo", "simpo") else pc / chosen_len
        losses = losses + spec["ftx"] * -avg
    metrics = {
        "rewards/chosen": float(cr.mean()),
        "rewards/rejected": float(rr_.mean()),
        "rewards/accuracies": float((cr > rr_).double().mean()),
        "rewards/margins": float((cr - rr_).mean()),
        "logps/chosen": float(pc.detach().mean()),
        "logps/rejected": float(pr.detach().mean()),
    }
    return losses, metrics, (cr, rr_)


def trl_check(cfg, lspec, w32, lora32, ids, key_len, labels, spec, loss, grads):
    """TRL's own DPOTrainer._compute_loss (sigmoid / hinge / ipo) on the real Transformers Qwen2ForCausalLM wrapped
    by PEFT with the same LoRA weights, float64; the reference is PEFT's adapter-disabled base, as TRL does for a new
    adapter. Its loss and LoRA gradients must equal this script's to 1e-5 (relative): Transformers computes RoPE's
    cos/sin from a float32 inv_freq even in a float64 model, which alone leaves differences around 1e-7. Returns TRL's version, or None
    when transformers / peft / trl are not importable here."""
    try:
        import collections

        import peft
        import transformers
        import trl
        from trl import DPOTrainer
    except Exception as e:  # noqa: BLE001
        print("  trl not importable, formulas only:", type(e).__name__)
        return None
    hf_cfg = transformers.Qwen2Config(**{k: v for k, v in cfg.items() if k not in ("architectures", "model_type")})
    hf_cfg._attn_implementation = "eager"
    base = transformers.Qwen2ForCausalLM(hf_cfg).double()
    base.load_state_dict({k: v.double() for k, v in w32.items()}, strict=False)
    base.tie_weights()
    model = peft.get_peft_model(
        base, peft.LoraConfig(r=lspec["r"], lora_alpha=lspec["alpha"], lora_dropout=0.0, target_modules=lspec["targets"])
    )
    sd = {k.replace(".weight", ".default.weight"): v.double() for k, v in lora32.items()}
    missing = model.load_state_dict(sd, strict=False)
    assert not [k for k in missing.unexpected_keys], missing.unexpected_keys
    model.train()
    ident = lambda x: x  # noqa: E731
    fake = types.SimpleNamespace(
        model=model, ref_model=None, beta=spec["beta"], loss_types=[spec.get("loss", spec["name"])], loss_weights=[1.0],
        f_divergence_type="reverse_kl", ld_alpha=None, precompute_ref_logps=False, aux_loss_enabled=False,
        use_weighting=False, _metrics={"train": collections.defaultdict(list), "eval": collections.defaultdict(list)},
        _total_train_tokens=0, _tp_size=1, label_smoothing=spec["label_smoothing"],
        args=types.SimpleNamespace(gradient_checkpointing=False, gradient_checkpointing_kwargs=None),
        accelerator=types.SimpleNamespace(device=torch.device("cpu"), gather_for_metrics=ident, gather=ident,
                                          unwrap_model=ident),
    )
    T = ids.shape[1]
    attn = (torch.arange(T)[None, :] < key_len[:, None]).long()
    completion = (labels != -100).long()
    inputs = {"input_ids": ids, "attention_mask": attn, "completion_mask": completion}
    out = DPOTrainer._compute_loss(fake, model, inputs, False)
    tl = out[0] if isinstance(out, tuple) else out
    tl.backward()
    d = abs(float(tl.detach()) - float(loss.detach())) / max(1e-12, abs(float(loss)))
    worst = 0.0
    named = dict(model.named_parameters())
    for k, g in grads.items():
        tg = named[k.replace(".weight", ".default.weight")].grad
        worst = max(worst, float((tg - g).abs().max() / g.abs().max().clamp(min=1e-30)))
    print(f"  TRL {trl.__version__} {spec['name']}: loss {float(tl):.12g} rel diff {d:.2e}, grads rel diff {worst:.2e}")
    if d > 1e-5 or worst > 1e-5:
        raise SystemExit(f"TRL's DPOTrainer differs from this script for {spec['name']}")
    return trl.__version__


def trl_kto_check(cfg, lspec, w32, lora32, batch, kl_batch, tags, spec, loss, grads):
    """TRL's own KTOTrainer._compute_loss on the real Qwen2 + PEFT model (float64), reference = the adapter disabled:
    loss and LoRA gradients within 1e-5 relative of this script's (ftx 0: pref_ftx is LLaMA-Factory's addition)."""
    try:
        import collections

        import peft
        import transformers
        import trl
        from trl.trainer.kto_trainer import KTOTrainer
    except Exception as e:  # noqa: BLE001
        print("  trl not importable, KTO formulas only:", type(e).__name__)
        return None
    hf_cfg = transformers.Qwen2Config(**{k: v for k, v in cfg.items() if k not in ("architectures", "model_type")})
    hf_cfg._attn_implementation = "eager"
    base = transformers.Qwen2ForCausalLM(hf_cfg).double()
    base.load_state_dict({k: v.double() for k, v in w32.items()}, strict=False)
    base.tie_weights()
    model = peft.get_peft_model(
        base, peft.LoraConfig(r=lspec["r"], lora_alpha=lspec["alpha"], lora_dropout=0.0, target_modules=lspec["targets"])
    )
    model.load_state_dict({k.replace(".weight", ".default.weight"): v.double() for k, v in lora32.items()}, strict=False)
    model.train()
    ident = lambda x: x  # noqa: E731
    fake = types.SimpleNamespace(
        model=model, ref_model=None, beta=spec["beta"], desirable_weight=spec["desirable_weight"],
        undesirable_weight=spec["undesirable_weight"], loss_type="kto", calculate_KL=True, use_liger_kernel=False,
        precompute_ref_logps=False, aux_loss_enabled=False, _is_vlm=False, _total_train_tokens=0, _tp_size=1,
        _metrics={"train": collections.defaultdict(list), "eval": collections.defaultdict(list)},
        args=types.SimpleNamespace(gradient_checkpointing=False, gradient_checkpointing_kwargs=None),
        accelerator=types.SimpleNamespace(device=torch.device("cpu"), gather_for_metrics=ident, gather=ident,
                                          unwrap_model=ident),
    )
    fake._compute_kl_logps = types.MethodType(KTOTrainer._compute_kl_logps, fake)

    def parts(ids, labels, key_len):
        T = ids.shape[1]
        return ids, (torch.arange(T)[None, :] < key_len[:, None]).long(), (labels != -100).long()

    ids, attn, comp = parts(*batch)
    kl_ids, kl_attn, kl_comp = parts(*kl_batch)
    inputs = {"input_ids": ids, "attention_mask": attn, "completion_mask": comp, "KL_input_ids": kl_ids,
              "KL_attention_mask": kl_attn, "KL_completion_mask": kl_comp, "label": torch.tensor(tags)}
    tl = KTOTrainer._compute_loss(fake, model, inputs, False)
    tl.backward()
    d = abs(float(tl.detach()) - float(loss.detach())) / max(1e-12, abs(float(loss.detach())))
    worst = 0.0
    named = dict(model.named_parameters())
    for k, g in grads.items():
        tg = named[k.replace(".weight", ".default.weight")].grad
        worst = max(worst, float((tg - g).abs().max() / g.abs().max().clamp(min=1e-30)))
    print(f"  TRL {trl.__version__} kto: loss {float(tl.detach()):.12g} rel diff {d:.2e}, grads rel diff {worst:.2e}")
    if d > 1e-5 or worst > 1e-5:
        raise SystemExit(f"TRL's KTOTrainer differs from this script for {spec['name']}")
    return trl.__version__


def main():
    case = CASES[0]  # qwen2_tied_bias: tied embeddings, q/k/v bias, GQA, LoRA on every linear
    cfg, lspec = case["config"], case["lora"]
    g = torch.Generator().manual_seed(4321)
    w32 = make_weights(cfg, g)
    lora32 = make_lora(cfg, lspec, w32, g)
    ids, labels, key_len = make_pairs(cfg["vocab_size"], g)
    P = ids.shape[0] // 2
    w = {k: v.double() for k, v in w32.items()}

    blobs, index, offset = [], {}, 0

    def put(key, t):
        nonlocal offset
        a = t.detach().to(torch.float32).contiguous()
        index[key] = {"shape": list(a.shape), "offset": offset}
        blobs.append(a.numpy().tobytes())
        offset += a.numel() * 4

    for k, v in w32.items():
        put(f"weight/{k}", v)
    for k, v in lora32.items():
        put(f"lora/{k}", v)

    with torch.no_grad():
        ref_sum, counts = row_logps(forward(cfg, w, None, None, ids, key_len), labels)
    out = {}
    trl_version = None
    for spec in LOSSES:
        loss_type = spec.get("loss", spec["name"])
        avg = loss_type in ("ipo", "orpo", "simpo")
        lora = {k: v.double().clone().requires_grad_(True) for k, v in lora32.items()}
        opt = torch.optim.AdamW(list(lora.values()), lr=LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
        steps = []
        for step in range(STEPS):
            opt.zero_grad()
            s, cnt = row_logps(forward(cfg, w, lora, lspec, ids, key_len), labels)
            logps = s / cnt if avg else s
            ref = ref_sum / counts if avg else ref_sum
            losses, metrics, rewards = pref_loss(spec, logps[:P], logps[P:], ref[:P], ref[P:], cnt[:P])
            loss = losses.mean()
            loss.backward()
            if step == 0 and loss_type in ("sigmoid", "hinge", "ipo") and spec["label_smoothing"] == 0 and spec["ftx"] == 0:
                grads = {k: v.grad.detach().clone() for k, v in lora.items()}
                trl_version = trl_check(cfg, lspec, w32, lora32, ids, key_len, labels, spec, loss, grads) or trl_version
            if step == 0:
                for k, v in lora.items():
                    put(f"{spec['name']}/grad/{k}", v.grad)
            steps.append({"loss": float(loss), **metrics})
            opt.step()
        for k, v in lora.items():
            put(f"{spec['name']}/lora_after/{k}", v)
        out[spec["name"]] = {"spec": spec, "steps": steps}
        print(spec["name"], [round(x["loss"], 6) for x in steps])

    # KTO: the same model, 4 rows and their KL rows
    (kids, klabels, kkey), (klids, kllabels, klkey), tags = make_kto_rows(cfg["vocab_size"], g)
    with torch.no_grad():
        rp, _ = row_logps(forward(cfg, w, None, None, kids, kkey), klabels)
        kl_rp, _ = row_logps(forward(cfg, w, None, None, klids, klkey), kllabels)
    kto_out = {}
    kto_trl = None
    for spec in KTO_CASES:
        lora = {k: v.double().clone().requires_grad_(True) for k, v in lora32.items()}
        opt = torch.optim.AdamW(list(lora.values()), lr=LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
        steps = []
        for step in range(STEPS):
            opt.zero_grad()
            lp, cnt = row_logps(forward(cfg, w, lora, lspec, kids, kkey), klabels)
            with torch.no_grad():
                kl_lp, _ = row_logps(forward(cfg, w, lora, lspec, klids, klkey), kllabels)
            loss, metrics = kto_loss(spec, lp, rp, kl_lp, kl_rp, tags, cnt)
            loss.backward()
            if step == 0 and spec["ftx"] == 0:
                grads = {k: v.grad.detach().clone() for k, v in lora.items()}
                batch = (kids, klabels, kkey)
                kl_batch = (klids, kllabels, klkey)
                kto_trl = trl_kto_check(cfg, lspec, w32, lora32, batch, kl_batch, tags, spec, loss, grads) or kto_trl
            if step == 0:
                for k, v in lora.items():
                    put(f"{spec['name']}/grad/{k}", v.grad)
            steps.append({"loss": float(loss), **metrics})
            opt.step()
        for k, v in lora.items():
            put(f"{spec['name']}/lora_after/{k}", v)
        kto_out[spec["name"]] = {"spec": spec, "steps": steps}
        print(spec["name"], [round(x["loss"], 6) for x in steps])

    def batch_json(ids_, labels_, key_len_):
        return {"B": int(ids_.shape[0]), "T": int(ids_.shape[1]), "inputIds": ids_.reshape(-1).tolist(),
                "labels": labels_.reshape(-1).tolist(), "keyLen": key_len_.tolist()}

    manifest = {
        "generator": "test/golden/make_dpo_golden.py (PyTorch %s, float64; TRL DPOTrainer._compute_loss cross-check: %s;"
        " TRL KTOTrainer._compute_loss cross-check: %s)" % (torch.__version__, trl_version or "not run", kto_trl or "not run"),
        "config": cfg,
        "lora": {"r": lspec["r"], "alpha": lspec["alpha"], "dropout": 0.0, "targets": lspec["targets"]},
        "batch": {"B": int(ids.shape[0]), "T": int(ids.shape[1]), "inputIds": ids.reshape(-1).tolist(),
                  "labels": labels.reshape(-1).tolist(), "keyLen": key_len.tolist()},
        "steps": STEPS, "lr": LR,
        "losses": out,
        "kto": {"batch": batch_json(kids, klabels, kkey), "kl": batch_json(klids, kllabels, klkey), "tags": tags,
                "cases": kto_out},
        "tensors": index,
    }
    with open(os.path.join(HERE, "dpo_golden.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    with open(os.path.join(HERE, "dpo_golden.bin"), "wb") as f:
        for b in blobs:
            f.write(b)


if __name__ == "__main__":
    main()
