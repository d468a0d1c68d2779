#!/usr/bin/env python3
"""Golden values for test/packing.test.ts from LLaMA-Factory's own packing code and the real Transformers model.

1. Bins: LLaMA-Factory's `greedy_knapsack` (imported from the processor_utils.py of a LLaMA-Factory checkout given
   on the command line) and the example-index loop of its PackedSupervisedDatasetProcessor (copied below, marked),
   on fixed length lists. `cutoff_len` is the value written in a config; the processor packs with cutoff_len - 1
   (DataArguments.__post_init__) and pads each row to cutoff_len.
2. Packed rows through Qwen2ForCausalLM (Transformers, sdpa attention, float64: its eager path takes the softmax in float32) with a PEFT LoRA adapter, weights
   and adapter taken from the committed qwen2_tied_bias fixture: the rows are built as the processor builds them
   (input_ids, labels, position_ids restarting per example, attention_mask with example indices for neat_packing,
   ones otherwise), and the neat mask goes through LLaMA-Factory's prepare_4d_attention_mask (copied below, marked)
   as SFTDataCollatorWith4DAttentionMask does for non-flash attention. Recorded for both modes: every labelled
   token's loss (the causal shift over the whole row, as the HF loss does), their sum, and the LoRA gradients of the
   sum. The script also checks that each neat token loss equals that of its example run alone.

Written to packing.json and packing.bin (little-endian float32 gradients), committed; `npm test` needs no Python.
To regenerate, in a venv from the image's wheel mirror (torch, transformers, peft) and any LLaMA-Factory checkout
(this was made with transformers 5.17.0, peft 0.21.0, LLaMA-Factory ff6d4d12):

    git -C LLaMA-Factory show ff6d4d12:src/llamafactory/data/processor/processor_utils.py > /tmp/processor_utils.py
    /tmp/ref-venv/bin/python packages/trainer/test/golden/make_packing.py /tmp/processor_utils.py
"""
import importlib.util
import json
import os
import sys
from collections import defaultdict

import peft
import torch
import transformers
from peft import LoraConfig, get_peft_model
from transformers import Qwen2Config, Qwen2ForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
IGNORE_INDEX = -100


def load_greedy_knapsack(path):
    spec = importlib.util.spec_from_file_location("lf_processor_utils", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["lf_processor_utils"] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod.greedy_knapsack


def pack_indices(greedy_knapsack, lengths, cutoff_len):
    """The bins (example indices) and pad lengths of PackedSupervisedDatasetProcessor.preprocess_dataset."""
    cutoff = cutoff_len - 1  # DataArguments.__post_init__: `if self.packing: self.cutoff_len -= 1`
    # --- from LLaMA-Factory src/llamafactory/data/processor/supervised.py (ff6d4d12), lengths only ---
    valid_num = 0
    batch_lengths = []
    lengths_kept = []
    length2indexes = defaultdict(list)
    for length in lengths:
        if length > cutoff:
            continue  # "Dropped lengthy example"
        lengths_kept.append(length)
        length2indexes[length].append(valid_num)
        batch_lengths.append(length)
        valid_num += 1
    knapsacks = greedy_knapsack(lengths_kept, cutoff)
    bins, pads = [], []
    for knapsack in knapsacks:
        row = []
        for i, length in enumerate(knapsack):
            index = length2indexes[length].pop()
            row.append(index)
        total = sum(batch_lengths[i] for i in row)
        pads.append(cutoff - total + 1 if total < cutoff + 1 else 0)
        bins.append(row)
    # --- end ---
    # indices above count kept examples only; map them back to positions in `lengths`
    kept_at = [i for i, n in enumerate(lengths) if n <= cutoff]
    return [[kept_at[i] for i in row] for row in bins], pads


def prepare_4d_attention_mask(attention_mask_with_indices, dtype):
    # --- from LLaMA-Factory src/llamafactory/data/collator.py (ff6d4d12) ---
    _, seq_len = attention_mask_with_indices.size()
    min_dtype = torch.finfo(dtype).min
    zero_tensor = torch.tensor(0, dtype=dtype)
    non_padding_mask = (attention_mask_with_indices != 0).unsqueeze(1).unsqueeze(2)
    indices = attention_mask_with_indices.unsqueeze(1).unsqueeze(2)  # [bsz, 1, 1, seq_len]
    indices_t = attention_mask_with_indices.unsqueeze(1).unsqueeze(3)  # [bsz, 1, seq_len, 1]
    tril_mask = torch.tril(torch.ones((seq_len, seq_len), dtype=torch.bool))
    attention_mask_4d = (indices == indices_t) & non_padding_mask & tril_mask
    attention_mask_4d = torch.where(attention_mask_4d, zero_tensor, min_dtype)
    return attention_mask_4d
    # --- end ---


def bins_cases(greedy_knapsack):
    g = torch.Generator().manual_seed(17)
    many = [int(x) for x in torch.randint(1, 60, (300,), generator=g)]  # many repeats: the LIFO pop matters
    cases = [
        {"cutoff_len": 10, "lengths": [3, 7, 2, 9, 1, 5, 5, 4, 6, 2]},
        {"cutoff_len": 12, "lengths": [4, 7, 3, 5, 2]},
        {"cutoff_len": 8, "lengths": [8, 7, 7, 1, 3, 3, 3, 2, 9, 6]},  # 8 and 9 exceed cutoff_len - 1: dropped
        {"cutoff_len": 64, "lengths": many},
    ]
    for c in cases:
        c["bins"], c["pads"] = pack_indices(greedy_knapsack, list(c["lengths"]), c["cutoff_len"])
    return cases


def read_fixture(name):
    m = json.load(open(os.path.join(HERE, f"{name}.json")))
    raw = open(os.path.join(HERE, f"{name}.bin"), "rb").read()
    out = {}
    for k, t in m["tensors"].items():
        n = 1
        for s in t["shape"]:
            n *= s
        out[k] = torch.frombuffer(bytearray(raw[t["offset"] : t["offset"] + 4 * n]), dtype=torch.float32).reshape(
            t["shape"]
        )
    return m, out


def build_model(m, tensors):
    cfg = dict(m["config"])
    config = Qwen2Config(**{k: v for k, v in cfg.items() if k != "architectures"}, attn_implementation="sdpa")
    model = Qwen2ForCausalLM(config).double()
    state = {k[len("weight/") :]: v.double() for k, v in tensors.items() if k.startswith("weight/")}
    if config.tie_word_embeddings:
        state["lm_head.weight"] = state["model.embed_tokens.weight"]
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all("rotary" in k for k in missing), (missing, unexpected)
    spec = m["lora"]
    model = get_peft_model(
        model,
        LoraConfig(r=spec["r"], lora_alpha=spec["alpha"], lora_dropout=0.0, target_modules=spec["targets"]),
    )
    # PEFT names its parameters ...q_proj.lora_A.default.weight; the fixture (and adapter files) leave out "default"
    params = dict(model.named_parameters())
    for k, v in tensors.items():
        if k.startswith("lora/"):
            name = k[len("lora/") :].replace(".lora_A.weight", ".lora_A.default.weight").replace(
                ".lora_B.weight", ".lora_B.default.weight"
            )
            with torch.no_grad():
                params[name].copy_(v.double())
    model.eval()  # no dropout anywhere (lora_dropout is 0 too)
    return model


def token_losses(logits, labels):
    """Per labelled position t (label coordinates): CE of logits[t - 1] against labels[t]; 0 elsewhere."""
    B, T, V = logits.shape
    out = torch.zeros(B, T, dtype=logits.dtype)
    logp = torch.log_softmax(logits, dim=-1)
    for b in range(B):
        for t in range(1, T):
            y = int(labels[b, t])
            if y != IGNORE_INDEX:
                out[b, t] = -logp[b, t - 1, y]
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    greedy_knapsack = load_greedy_knapsack(sys.argv[1])
    torch.manual_seed(0)
    m, tensors = read_fixture("qwen2_tied_bias")
    model = build_model(m, tensors)
    V = m["config"]["vocab_size"]
    pad_id = 0

    # Five examples: a prompt (unlabelled) then a labelled answer, as SupervisedDatasetProcessor labels them.
    g = torch.Generator().manual_seed(5)
    spec = [(2, 2), (3, 4), (1, 2), (2, 3), (1, 1)]  # (prompt, answer) lengths: 4, 7, 3, 5, 2 tokens
    examples = []
    for p, a in spec:
        ids = [int(x) for x in torch.randint(1, V, (p + a,), generator=g)]
        examples.append({"input_ids": ids, "labels": [IGNORE_INDEX] * p + ids[p:]})
    cutoff_len = 12
    bins, pads = pack_indices(greedy_knapsack, [len(e["input_ids"]) for e in examples], cutoff_len)

    rows = {"input_ids": [], "labels": [], "position_ids": [], "neat_mask": [], "segments": []}
    for row, pad in zip(bins, pads):
        ids, labels, pos, mask = [], [], [], []
        for i, idx in enumerate(row):  # as the processor concatenates a knapsack
            e = examples[idx]
            ids += e["input_ids"]
            labels += e["labels"]
            pos += list(range(len(e["input_ids"])))
            mask += [i + 1] * len(e["input_ids"])
        ids += [pad_id] * pad
        labels += [IGNORE_INDEX] * pad
        pos += [0] * pad
        mask += [0] * pad
        for k, v in zip(("input_ids", "labels", "position_ids", "neat_mask"), (ids, labels, pos, mask)):
            rows[k].append(v)
        rows["segments"].append([len(examples[idx]["input_ids"]) for idx in row])
    input_ids = torch.tensor(rows["input_ids"])
    labels = torch.tensor(rows["labels"])
    position_ids = torch.tensor(rows["position_ids"])
    B, T = input_ids.shape

    results = {}
    grads_out = {}
    lora_params = [(n, p) for n, p in model.named_parameters() if "lora_" in n]
    for mode in ("neat", "plain"):
        model.zero_grad()
        if mode == "neat":
            attention_mask = prepare_4d_attention_mask(torch.tensor(rows["neat_mask"]), torch.float64)
        else:
            attention_mask = torch.ones(B, T, dtype=torch.long)  # plain packing: a mask of ones, pads included
        logits = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids).logits
        per_token = token_losses(logits, labels)
        loss_sum = per_token.sum()
        loss_sum.backward()
        results[mode] = {"tokenLosses": per_token.flatten().tolist(), "lossSum": float(loss_sum.detach())}
        for n, p in lora_params:
            key = n.replace(".lora_A.default.weight", ".lora_A.weight").replace(".lora_B.default.weight", ".lora_B.weight")
            grads_out[f"{mode}/{key}"] = p.grad.detach().float().clone()

    # Each example alone: the neat per-token losses must be these (the property neat_packing exists for).
    alone = []
    with torch.no_grad():
        for e in examples:
            lg = model(input_ids=torch.tensor([e["input_ids"]])).logits
            alone.append(token_losses(lg, torch.tensor([e["labels"]]))[0].tolist())
    neat = torch.tensor(results["neat"]["tokenLosses"], dtype=torch.float64).reshape(B, T)
    for b, row in enumerate(bins):
        at = 0
        for idx in row:
            n = len(examples[idx]["input_ids"])
            for t in range(1, n):  # the first token's label is never a loss when the example is alone
                assert abs(float(neat[b, at + t]) - alone[idx][t]) < 1e-9, (b, idx, t)
            at += n
    plain = torch.tensor(results["plain"]["tokenLosses"], dtype=torch.float64).reshape(B, T)
    assert (plain - neat).abs().max() > 1e-3, "plain packing should differ from neat packing"

    meta = {
        "generator": f"test/golden/make_packing.py (transformers {transformers.__version__}, peft {peft.__version__}, "
        f"torch {torch.__version__}, float64, sdpa attention; LLaMA-Factory greedy_knapsack from {os.path.basename(sys.argv[1])})",
        "bins": bins_cases(greedy_knapsack),
        "model": "qwen2_tied_bias",
        "cutoffLen": cutoff_len,
        "padId": pad_id,
        "examples": examples,
        "packed": {
            "B": B,
            "T": T,
            "bins": bins,
            "inputIds": rows["input_ids"],
            "labels": rows["labels"],
            "positionIds": rows["position_ids"],
            "segments": rows["segments"],
        },
        "neat": results["neat"],
        "plain": results["plain"],
        "tensors": {},
    }
    blob = bytearray()
    for k, t in grads_out.items():
        meta["tensors"][k] = {"shape": list(t.shape), "offset": len(blob)}
        blob += t.contiguous().numpy().astype("<f4").tobytes()
    json.dump(meta, open(os.path.join(HERE, "packing.json"), "w"), indent=1)
    open(os.path.join(HERE, "packing.bin"), "wb").write(bytes(blob))
    print(f"packing.json: {len(meta['bins'])} bin cases; packed rows {bins}; neat loss {results['neat']['lossSum']:.6f}, "
          f"plain {results['plain']['lossSum']:.6f}")


if __name__ == "__main__":
    main()
