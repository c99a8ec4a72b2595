"""Evaluate judges on loaded data sets: collect responses, run the judges, score the results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from langchain_core.language_models import BaseChatModel

from agents.prompting import judge_prompt
from agents.styles import Criterion
from evals.baseline import RuleBaselineJudge
from evals.cache import JudgementCache
from evals.combined import combined_label, cross_fitted
from evals.datasets import LabelledSet, PairwiseSet, item_key
from evals.judges import DEFAULT_PERSONA, Judge, Judgement, LLMJudge
from evals.runner import Response, judge_label, run_judges, weighted_label
from evals.scoring import Row, human_ceiling, score_pairwise, score_pointwise

Dataset = LabelledSet | PairwiseSet


@dataclass
class Outcome:
    """Leaderboard rows and the cost of the run."""

    rows: list[Row]
    cached: int = 0
    called: int = 0
    errors: list[str] = field(default_factory=list)


def build_llm_judges(
    prompts: Sequence[str], models: dict[str, BaseChatModel], persona: str = DEFAULT_PERSONA, samples: int = 1
) -> list[Judge]:
    """Make one LLM judge per (prompt, model) pair (and its self-consistent variant when ``samples`` > 1)."""
    counts = [1] if samples <= 1 else [1, samples]
    return [
        LLMJudge(judge_prompt(prompt, allow_path=True), chat_model, name, persona, samples=k)
        for name, chat_model in models.items()
        for prompt in prompts
        for k in counts
    ]


def pair_keys(dataset: PairwiseSet) -> list[tuple[str, str]]:
    """Return the (a, b) response keys of each pairwise item."""
    return [(item_key(i.text_a, i.context), item_key(i.text_b, i.context)) for i in dataset.items]


def responses_of(dataset: Dataset) -> list[Response]:
    """List every response a data set asks the judges to score."""
    if isinstance(dataset, LabelledSet):
        return [Response(item.key, item.text, item.context) for item in dataset.items]
    found = []
    for item in dataset.items:
        found.append(Response(item_key(item.text_a, item.context), item.text_a, item.context))
        found.append(Response(item_key(item.text_b, item.context), item.text_b, item.context))
    return found


def score_variants(label: str, found: dict[str, Judgement]) -> dict[str, dict[str, Judgement]]:
    """Return the judgements to score under each name: the sampled scores, and the weighted ones.

    The weighted scores come from the same calls, when the endpoint returned logprobs: no extra
    call (G-Eval's weighting of one answer).
    """
    variants = {label: found}
    if any(judgement.weighted is not None for judgement in found.values()):
        variants[weighted_label(label)] = {key: replace(j, score=j.weighted) for key, j in found.items()}
    return variants


async def evaluate(
    datasets: Sequence[Dataset],
    judges: Sequence[Judge],
    criterion: Criterion,
    cache: JudgementCache,
    *,
    concurrency: int = 4,
    bootstrap: int = 1000,
    seed: int = 0,
    show_progress: bool = True,
) -> Outcome:
    """Judge every response of every data set with every judge and score each judge per set.

    Args:
        datasets: Pointwise and pairwise sets (already limited).
        judges: LLM judges and baselines.
        criterion: The rubric criterion to score.
        cache: Where judgements are read from and written to.
        concurrency: Judge calls in flight at once.
        bootstrap: Bootstrap resamples for the intervals (0 to skip).
        seed: Bootstrap seed.
        show_progress: Draw a progress bar.
    """
    responses = [response for dataset in datasets for response in responses_of(dataset)]
    run = await run_judges(responses, judges, criterion, cache, concurrency=concurrency, show_progress=show_progress)
    rows: list[Row] = []
    for dataset in datasets:
        if isinstance(dataset, LabelledSet):
            ceiling = human_ceiling(dataset)
            rows.extend([ceiling] if ceiling else [])
        baseline = next((judge_label(j) for j in judges if isinstance(j, RuleBaselineJudge)), None)
        for judge in judges:
            label = judge_label(judge)
            variants = score_variants(label, run.judgements[label])
            if isinstance(dataset, LabelledSet) and baseline and isinstance(judge, LLMJudge) and judge.samples == 1:
                for name, found in list(variants.items()):
                    mixed = cross_fitted(dataset, found, run.judgements[baseline], seed=seed)
                    if mixed:
                        variants[combined_label(name, baseline)] = mixed
            for name, found in variants.items():
                if isinstance(dataset, LabelledSet):
                    rows.append(score_pointwise(dataset, name, found, bootstrap=bootstrap, seed=seed))
                else:
                    keys = pair_keys(dataset)
                    rows.append(score_pairwise(dataset, name, found, keys, bootstrap=bootstrap, seed=seed))
    return Outcome(rows, run.cached, run.called, run.errors)
