"""Pictures of what PoWER-BERT eliminated, written as PNG files.

- the retention configuration: word vectors kept per block, against N;
- for a few sentences, which word pieces survive in each block (the paper's anecdotal
  examples), read from the Extract layers through `modeling.bert.kept_positions_model`;
- for one whole input, however long (a review of 500 word pieces), its text shaded by the
  last block that keeps each word piece;
- the trade-off: dev metric against measured speedup, BERT as the reference point.
"""

import os

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from matplotlib.patches import Rectangle  # noqa: E402

from atomic_files import replaced_atomically  # noqa: E402
from modeling.bert import kept_positions_model  # noqa: E402
from modeling.flops import reductions_against_both_baselines  # noqa: E402

RETENTION_PNG = "retention_configuration.png"
SURVIVING_WORDS_PNG = "surviving_words.png"
SURVIVING_TEXT_PNG = "surviving_text.png"


def plot_retention_configuration(path, retention, seq_len, title=None):
    """Bar chart of l_j (or f_j) per block, with BERT's (N, or all) as a reference line.

    Args:
        path: the PNG file to write.
        retention: the `RetentionConfiguration`: l_1..l_L, or shares f_1..f_L if relative.
        seq_len: N.
        title: the figure's title.
    """
    relative, values = retention.relative, retention.values
    blocks = np.arange(1, len(values) + 1)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.5 * len(values) + 2), 3.5))
    bars = ax.bar(blocks, values, color="tab:blue", label="PoWER-BERT")
    ax.bar_label(bars, fontsize=8, fmt="%.2f" if relative else "%g")
    full = retention.full(seq_len)
    ax.axhline(full, color="tab:red", linestyle="--",
               label="BERT: all" if relative else f"BERT: N = {seq_len}")
    ax.set(xlabel="block j",
           ylabel="share of each input kept (f_j)" if relative else "word vectors kept (l_j)",
           xticks=blocks, ylim=(0, full * 1.3), title=title or "Retention configuration")
    ax.legend(loc="upper right", fontsize=8, ncol=2)
    _save(fig, path)


def surviving_words(model, features, tokenizer, rows, padding="batch"):
    """Which word pieces of each chosen row survive each block.

    Args:
        model: a model built with a `retention` that has values.
        features: `data.features.Features`.
        tokenizer: the tokenizer that made `features` (for the word pieces' text).
        rows: indices of the rows to show.
        padding: "batch" or "seq_len", as the model runs (see `data.batches`).

    Returns:
        Per row: (word pieces of the real tokens, bool array (blocks, pieces): kept after
        block j's Extract layer).
    """
    rows = list(rows)
    kept = kept_positions_model(model, real_only=True).predict(features.batch(rows, padding),
                                                                verbose=0)
    result = []
    for i, row in enumerate(rows):
        length = int(features.lengths[row])
        grid = np.zeros((len(kept), length), dtype=bool)
        for j, positions in enumerate(kept):
            real = positions[i][(positions[i] >= 0) & (positions[i] < length)]
            grid[j, real] = True
        pieces = tokenizer.convert_ids_to_tokens(
            [int(t) for t in features.token_ids[row, :length]])
        result.append((pieces, grid))
    return result


def plot_surviving_words(path, examples, max_pieces=60):
    """Grid per sentence, blocks x word pieces: dark where the word vector is still kept.

    Args:
        path: the PNG file to write.
        examples: what `surviving_words` returns.
        max_pieces: longer inputs are shown up to this many word pieces.
    """
    width = min(max_pieces, max(len(pieces) for pieces, _ in examples))
    fig, axes = plt.subplots(len(examples), 1, squeeze=False,
                             figsize=(max(6.0, 0.22 * width + 1.5),
                                      sum(0.25 * grid.shape[0] + 1.3 for _, grid in examples)))
    for ax, (pieces, grid) in zip(axes[:, 0], examples):
        pieces, grid = pieces[:max_pieces], grid[:, :max_pieces]
        ax.imshow(grid, cmap="Blues", vmin=-0.3, vmax=1.0, aspect="auto",
                  interpolation="nearest")
        ax.set_xticks(range(len(pieces)), pieces, rotation=90, fontsize=7)
        ax.set_yticks(range(grid.shape[0]), [f"block {j + 1} ({grid[j].sum()})"
                                             for j in range(grid.shape[0])], fontsize=7)
    axes[0, 0].set_title("Word pieces kept after each block's Extract layer (dark = kept)",
                         fontsize=9)
    _save(fig, path)


def wrap_word_pieces(pieces, line_chars):
    """Where each word piece goes when the text wraps at line_chars characters.

    A "##" continuation joins the piece before it without a space, as WordPiece split it, and
    a line breaks only between words.

    Returns:
        Per piece: (first character's column, line, text shown).
    """
    words = []  # lists of pieces' texts
    for piece in pieces:
        if piece.startswith("##") and words:
            words[-1].append(piece[2:])
        else:
            words.append([piece])
    places, x, line = [], 0, 0
    for word in words:
        gap = 1 if x else 0
        if x and x + gap + sum(map(len, word)) > line_chars:
            x, line, gap = 0, line + 1, 0
        x += gap
        for text in word:
            places.append((x, line, text))
            x += len(text)
    return places


def plot_surviving_text(path, pieces, grid, line_chars=110):
    """One input's whole text, each word piece shaded by how many blocks keep it.

    Long inputs do not fit `plot_surviving_words`' grid; here the text wraps as it reads, and
    the shade of a word piece is the last block whose Extract layer keeps it (lightest:
    dropped by block 1; darkest: kept to the last block).

    Args:
        path: the PNG file to write.
        pieces, grid: one input of what `surviving_words` returns.
        line_chars: characters per line of text.
    """
    blocks = grid.shape[0]
    depth = grid.sum(axis=0)  # blocks that keep each piece: kept ones form a prefix
    places = wrap_word_pieces(pieces, line_chars)
    lines = places[-1][1] + 1
    fig, ax = plt.subplots(figsize=(0.068 * line_chars + 1.0, 0.2 * lines + 1.2))
    colors = plt.get_cmap("Blues")
    for (x, y, text), kept in zip(places, depth):
        ax.add_patch(Rectangle((x - 0.1, y - 0.45), len(text) + 0.2, 0.9, linewidth=0,
                               color=colors(0.1 + 0.85 * kept / blocks)))
        ax.text(x, y, text, fontsize=9, family="monospace", va="center",
                color="white" if kept > blocks / 2 else "black")
    ax.set(xlim=(-0.5, line_chars + 0.5), ylim=(lines - 0.5, -0.5))
    ax.axis("off")
    kept = ", ".join(str(int(k)) for k in grid.sum(axis=1))
    ax.set_title(f"{len(pieces)} word pieces; kept after blocks 1..{blocks}: {kept}\n"
                 f"darker = kept by more blocks (lightest: dropped by block 1)", fontsize=9)
    _save(fig, path)


def plot_tradeoff(path, curves, references, metric):
    """Dev metric against measured speedup over BERT on real lengths (the paper's trade-off
    figure, against the strong baseline).

    Args:
        path: the PNG file to write.
        curves: {name: [(speedup, metric value, label[, (speedup min, max), (metric min,
            max)])]}, e.g. PoWER-BERT's models; the ranges, if given, are drawn as error
            bars (the spread over seeds).
        references: [(speedup, metric value, label)] drawn as stars: the BERT baselines
            (BERT on real lengths at speedup 1, BERT padded to seq_len below 1).
        metric: the metric's name for the axis.
    """
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for (speedup, value, label), color in zip(references, ("tab:gray", "tab:red", "tab:green")):
        ax.scatter([speedup], [value], marker="*", s=160, color=color, label=label, zorder=3)
    for name, points in curves.items():
        ordered = sorted(points, key=lambda p: p[0])
        line, = ax.plot([p[0] for p in ordered], [p[1] for p in ordered], "o-", label=name)
        for speedup, value, label, *ranges in ordered:
            if ranges:
                (x_low, x_high), (y_low, y_high) = ranges
                ax.errorbar([speedup], [value], xerr=[[speedup - x_low], [x_high - speedup]],
                            yerr=[[value - y_low], [y_high - value]], color=line.get_color(),
                            capsize=3, linewidth=1)
            ax.annotate(label, (speedup, value), textcoords="offset points", xytext=(4, 4),
                        fontsize=7)
    every = [p[0] for p in references] + [p[0] for ps in curves.values() for p in ps]
    ax.set(xlabel="measured inference speedup over BERT on real lengths",
           ylabel=f"dev {metric}", title="Accuracy against speed",
           xlim=(0, max(every) * 1.18))  # room for the labels
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, path)


def plot_training_outputs(output_dir, config, task, retention, model, features, tokenizer,
                          rows=(0, 1, 2)):
    """The pictures of a finished training run, written into OUTPUT_DIR.

    Args:
        output_dir: OUTPUT_DIR.
        config: the `BertConfig`.
        task: the `Task`.
        retention: the `RetentionConfiguration` found by the search, with the padding the
            model runs with.
        model: the re-trained Extract model (weights of retrained.hdf5).
        features: dev `Features`; `rows` of them are shown, the first also as its whole text.
        tokenizer: the run's tokenizer.

    Returns:
        The paths written.
    """
    paths = [os.path.join(output_dir, name)
             for name in (RETENTION_PNG, SURVIVING_WORDS_PNG, SURVIVING_TEXT_PNG)]
    real, padded = reductions_against_both_baselines(config, features.lengths, task.seq_len,
                                                     retention, task.num_labels)
    plot_retention_configuration(paths[0], retention, task.seq_len,
                                 f"{task.name}: {'relative ' if retention.relative else ''}"
                                 f"retention configuration\n{real:.2f}x fewer FLOPs than BERT "
                                 f"on dev lengths, {padded:.2f}x than BERT padded to "
                                 f"{task.seq_len}")
    examples = surviving_words(model, features, tokenizer,
                               [r for r in rows if r < len(features)], retention.padding)
    plot_surviving_words(paths[1], examples)
    plot_surviving_text(paths[2], *examples[0])
    return paths


def _save(fig, path):
    fig.tight_layout()
    with replaced_atomically(path) as temp:
        fig.savefig(temp, dpi=110, format="png")
    plt.close(fig)
