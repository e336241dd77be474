"""The registry of experiments: each claim of the notes as a seeded run, a verdict and figures.

An :class:`Experiment` names the note and the section a claim comes from, states the claim in one
sentence, and supplies three functions:

- ``run(seed, quick) -> dict``: one seeded run; returns JSON-compatible measurements (keys that
  start with ``_`` hold arrays for the figures and stay out of results.json);
- ``judge(runs) -> Verdict``: reads the measurements of all seeds and compares one statistic per
  seed with a threshold that follows from the claim (see :func:`threshold_verdict`);
- ``plot(runs, out_dir) -> [file names]``: the figures (PNG, matplotlib's Agg canvas).

``--quick`` runs use less data and fewer steps: they check the machinery and the direction of the
effect in the test suite; the verdicts worth quoting come from the full runs (``make experiments``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = [
    "Experiment",
    "Verdict",
    "register",
    "REGISTRY",
    "get",
    "names",
    "threshold_verdict",
    "run_experiment",
    "HOLDS",
    "FAILS",
    "INCONCLUSIVE",
    "NOTE_FILES",
]

HOLDS, FAILS, INCONCLUSIVE = "holds", "does not hold", "inconclusive"

#: the note files the experiments quote (in /work/shared/notes of the project's sources)
NOTE_FILES = {
    "000": "000_6185529d5fd565bd.txt",
    "001": "001_146eeac3c81d4e8f.txt",
    "003": "003_64b2df3895a9d0a4.txt",
    "004": "004_2078226aad9fbbaa.txt",
}


#: English glosses of the section headings (the notes are in Chinese; a browser without CJK fonts
#: shows the headings as boxes, so the reports print both)
HEADING_EN = {
    "1. 深度学习的实用层面 (反向随机失活)": "practical aspects of deep learning (inverted dropout)",
    "1. 深度学习的实用层面 (正则化, dropout)": "practical aspects of deep learning (regularization, dropout)",
    "10. 超参数调优 (随机搜索优于网格搜索)": "hyperparameter tuning (random search beats grid search)",
    "11. 评价: 模型集成": "evaluation: model ensembles",
    "2. 优化算法 (Mini-batch 梯度下降)": "optimization algorithms (mini-batch gradient descent)",
    "2. 优化算法 (学习率衰减)": "optimization algorithms (learning-rate decay)",
    "2. 优化算法 (指数加权平均的偏差修正)": "optimization algorithms (bias correction of exponentially weighted averages)",
    "2. 用来构建卷积神经网络的各种层: 全连接层转化成卷积层": "the layers of a ConvNet: converting FC layers to conv layers",
    "3. 卷积神经网络的结构: 层的尺寸设置规律": "ConvNet architectures: layer sizing patterns",
    "3. 神经元层结构: 设置层的数量和尺寸": "layers of neurons: setting the number and size of layers",
    "3. 超参数调试和Batch标准化": "hyperparameter tuning and batch normalization",
    "4. 设置数据和模型: PCA 和白化": "setting up the data and the model: PCA and whitening",
    "4. 设置数据和模型: 权重初始化": "setting up the data and the model: weight initialization",
    "4. 设置数据和模型: 正则化": "setting up the data and the model: regularization",
    "7. 合理性检查": "sanity checks",
    "8. 检查学习过程": "babysitting the learning process",
    "9. 参数更新": "parameter updates",
    "Hopfield 网络": "Hopfield networks",
    "KAN": "Kolmogorov-Arnold networks",
    "UAT 万能逼近定理": "the universal approximation theorem",
    "探索深度学习之外的方法:深度森林": "beyond deep learning: deep forest",
    "再谈神经网络的运作机制": "how the network works, revisited",
    "到底多少神经元?": "how many neurons, then?",
    "反向传播算法(Backpropagation Algorithm, BP)": "the backpropagation algorithm",
    "更宽还是更胖?Wider or deeper?": "wider or deeper?",
    "案例一: 动图显示神经网络各层之间的效果 (ConvNetJS)": "case 1: animations of what each layer does (ConvNetJS)",
    "第二个问题:为什么引入Relu呢?": "second question: why ReLU?",
    "迁移学习 / 数据增强": "transfer learning / data augmentation",
    "隐含层越胖越好?": "is a fatter hidden layer better?",
}


def heading_with_gloss(heading: str) -> str:
    gloss = HEADING_EN.get(heading)
    return f"{heading} ({gloss})" if gloss else heading


@dataclass
class Verdict:
    """The outcome of judging a claim over seeds.

    ``status``: "holds" when every seed's statistic passes the threshold, "does not hold" when none
    does, "inconclusive" when the seeds disagree (or a statistic is missing).
    """

    status: str
    statistic: str  # what was compared, in words
    threshold: str  # the rule, e.g. "> 1.0"
    values: list  # the statistic of each seed
    detail: str = ""  # extra words (sub-claims, units)

    @property
    def spread(self) -> dict:
        v = np.asarray([x for x in self.values if x is not None and math.isfinite(x)], dtype=float)
        if not len(v):
            return {"median": None, "min": None, "max": None}
        return {"median": float(np.median(v)), "min": float(v.min()), "max": float(v.max())}

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "statistic": self.statistic,
            "threshold": self.threshold,
            "values": [None if x is None else float(x) for x in self.values],
            **self.spread,
            "detail": self.detail,
        }


_OPS = {"==": np.equal, ">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}


def threshold_verdict(values, op: str, threshold: float, statistic: str, detail: str = "") -> Verdict:
    """Compare each seed's value with ``threshold`` (``op`` one of > >= < <=): holds if all pass,
    does not hold if none does, inconclusive otherwise. NaN or None counts as a failure to pass
    and as a failure to fail (it makes the verdict inconclusive unless all are missing)."""
    if op not in _OPS:
        raise ValueError(f"threshold_verdict: op must be one of {sorted(_OPS)}, got {op!r}")
    values = [None if v is None else float(v) for v in values]
    ok = [None if v is None or not math.isfinite(v) else bool(_OPS[op](v, threshold)) for v in values]
    if ok and all(o is True for o in ok):
        status = HOLDS
    elif ok and all(o is False for o in ok):
        status = FAILS
    else:
        status = INCONCLUSIVE
    return Verdict(status, statistic, f"{op} {threshold:g}", values, detail)


def all_of(verdicts: list[Verdict], statistic: str) -> Verdict:
    """A claim made of several parts holds when every part holds, fails when any part fails
    (on all seeds), and is inconclusive otherwise. Its per-seed value is the fraction of parts that
    pass on that seed; the detail lists each part with its median."""
    statuses = [v.status for v in verdicts]
    if all(s == HOLDS for s in statuses):
        status = HOLDS
    elif any(s == FAILS for s in statuses):
        status = FAILS
    else:
        status = INCONCLUSIVE
    n_seeds = max(len(v.values) for v in verdicts)
    per_seed = []
    for i in range(n_seeds):
        ok = [_passes(v, i) for v in verdicts]
        per_seed.append(sum(ok) / len(ok))
    detail = "; ".join(f"{v.statistic} {v.threshold}: {v.status} (median {_g(v.spread['median'])})" for v in verdicts)
    return Verdict(status, f"{statistic} (fraction of {len(verdicts)} parts passing)", "== 1", per_seed, detail)


def _passes(v: Verdict, i: int) -> bool:
    op, thr = v.threshold.split(" ", 1)
    x = v.values[i] if i < len(v.values) else None
    return x is not None and math.isfinite(x) and bool(_OPS[op](x, float(thr)))


def _g(x):
    return "-" if x is None else f"{x:.4g}"


@dataclass
class Experiment:
    """One claim of the notes, made runnable."""

    name: str
    source: str  # note file key ("000") or file name
    heading: str  # the section heading the claim comes from (as in the note)
    claim: str  # one sentence
    run: Callable  # run(seed, quick) -> measurements
    judge: Callable  # judge(list of measurements) -> Verdict
    plot: Callable | None = None  # plot(list of measurements, out_dir) -> list of PNG file names
    seeds: int = 3  # default number of seeds of a full run
    tags: tuple = field(default_factory=tuple)

    @property
    def source_file(self) -> str:
        return NOTE_FILES.get(self.source, self.source)


REGISTRY: dict[str, Experiment] = {}


def register(exp: Experiment) -> Experiment:
    if exp.name in REGISTRY:
        raise ValueError(f"experiment {exp.name!r} is registered twice")
    REGISTRY[exp.name] = exp
    return exp


def _load_catalog() -> None:
    from nnlab.experiments import catalog  # noqa: F401 - importing registers the experiments


def names() -> list[str]:
    _load_catalog()
    return list(REGISTRY)


def get(name: str) -> Experiment:
    _load_catalog()
    if name not in REGISTRY:
        import difflib

        close = difflib.get_close_matches(name, REGISTRY, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown experiment {name!r}{hint} (nnlab experiments list shows all {len(REGISTRY)})")
    return REGISTRY[name]


def run_experiment(
    exp: Experiment | str, seeds: int | None = None, quick: bool = False, out_dir=None, progress=None
) -> dict:
    """Run ``exp`` on seeds 0..K-1, judge it and draw its figures into ``out_dir/<name>/``.

    Returns the JSON-compatible record (claim, measurements per seed, verdict, figures, CPU and wall
    seconds). ``progress`` is called once per finished seed (e.g. a tqdm bar's ``update``).
    """
    if isinstance(exp, str):
        exp = get(exp)
    k = exp.seeds if seeds is None else int(seeds)
    if k < 1:
        raise ValueError(f"run_experiment: seeds must be >= 1, got {seeds!r}")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    runs = []
    # Experiments on divergence (a very high learning rate) overflow on purpose: no warnings.
    with _one_blas_thread(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for seed in range(k):
            runs.append(exp.run(seed, quick))
            if progress is not None:
                progress(1)
    verdict = exp.judge(runs)
    figures = []
    if out_dir is not None and exp.plot is not None:
        d = Path(out_dir) / exp.name
        d.mkdir(parents=True, exist_ok=True)
        figures = [f"{exp.name}/{Path(f).name}" for f in (exp.plot(runs, d) or [])]
    return {
        "name": exp.name,
        "source": exp.source_file,
        "heading": exp.heading,
        "claim": exp.claim,
        "quick": bool(quick),
        "seeds": list(range(k)),
        "measurements": _jsonable(runs),
        "verdict": verdict.to_dict(),
        "figures": figures,
        "cpu_seconds": round(time.process_time() - cpu0, 2),
        "wall_seconds": round(time.perf_counter() - wall0, 2),
    }


def _one_blas_thread():
    """The experiments' networks are small: one BLAS thread does their matrix products 10-40x
    cheaper in CPU time than two spinning threads on a loaded 2-core machine (784-100-10 MLP, one
    epoch of 2,000 digits: 0.04 vs 0.3-1.6 s CPU)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def _jsonable(x):
    if isinstance(x, dict):  # keys starting with "_" hold arrays for the figures only
        return {str(k): _jsonable(v) for k, v in x.items() if not str(k).startswith("_")}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        f = float(x)
        return f if math.isfinite(f) else None
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x
