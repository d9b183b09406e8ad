"""The rule that picks a task's LAMBDA from a sweep's held-out scores, the same for every task:
the paper's for its table, PoWER-BERT within 1% of BERT's metric at the highest speed that
allows (benchmarks.choose_lambda applies it)."""

# The paper's Table 2 keeps PoWER-BERT within 1% of BERT's metric: 1% of the metric's value,
# for MCC and Spearman as for accuracy and F1.
TOLERANCE = 0.01


def choose(bert, medians):
    """The rule that picks a task's LAMBDA, the paper's for its table: PoWER-BERT within 1% of
    BERT's metric, at the highest speed that allows.

    Among the LAMBDAs whose median held-out metric over the seeds is at least BERT's less 1%
    of its value (`lower_bound`: relative, for MCC and Spearman too), the one with the highest
    median ideal speedup over BERT on real lengths (a tie: the higher metric, then the smaller
    LAMBDA). Where none is within 1%, the smallest LAMBDA, flagged as such; `grid_goes_on` says
    where the grid must go on.

    Args:
        bert: BERT's held-out metric, the task's (CoLA: MCC, STS-B: Spearman, MRPC: F1, the
            rest: accuracy).
        medians: {LAMBDA: (median held-out metric, median ideal speedup over BERT on real
            lengths)}, over the seeds.

    Returns:
        (the chosen LAMBDA, whether it is within 1% of BERT).

    >>> choose(0.80, {0.001: (0.797, 2.0), 0.002: (0.793, 2.6), 0.004: (0.70, 4.0)})
    (0.002, True)
    >>> choose(0.80, {0.002: (0.75, 2.6), 0.001: (0.76, 2.0)})
    (0.001, False)
    """
    within = _within(bert, medians)
    if not within:
        return min(medians), False
    return max(within, key=lambda value: (medians[value][1], medians[value][0], -value)), True


def grid_goes_on(bert, medians):
    """Where the grid must go on before the rule's pick stands: "below" the smallest LAMBDA
    where none is within 1% of BERT, "above" the largest where that one is within 1% (a larger
    one may be faster and within 1% too), None where the grid holds LAMBDAs on both sides of
    the bound.

    Args:
        bert, medians: as `choose` takes them.

    >>> grid_goes_on(0.80, {0.001: (0.797, 2.0), 0.002: (0.793, 2.6)})
    'above'
    >>> grid_goes_on(0.80, {0.001: (0.797, 2.0), 0.004: (0.70, 4.0)}) is None
    True
    """
    within = _within(bert, medians)
    if not within:
        return "below"
    return "above" if max(medians) in within else None


def _within(bert, medians):
    """The LAMBDAs of `medians` whose median metric is within 1% of BERT's `bert`."""
    return [value for value, (metric, _) in medians.items() if metric >= lower_bound(bert)]


def lower_bound(bert):
    """The least metric within 1% of BERT's `bert`: less 1% of its size, so below it even
    where it is negative (an MCC or a Spearman correlation can be)."""
    return bert - TOLERANCE * abs(bert)
