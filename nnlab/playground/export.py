"""Exports of a session: the model as an nnlab checkpoint, and a Python script that rebuilds and
retrains the same model with nnlab (the points are written into the script)."""

from __future__ import annotations

import os
import tempfile

import numpy as np

from nnlab.playground.model import _ACT, _INIT


def checkpoint_bytes(session) -> bytes:
    """The model (feature map, layers, weights) as an ``nnlab.save`` checkpoint: ``nnlab.load(path).model``
    takes raw points (N, 2). The playground settings travel in its config."""
    import nnlab

    fd, path = tempfile.mkstemp(suffix=".npz", prefix="nnlab-playground-")
    os.close(fd)
    try:
        nnlab.save(session.model, path, config={"playground": session.config, "step": session.step_count})
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)


def _layer_lines(config, outputs) -> list[str]:
    lines = [f"    FeatureMap({list(config['features'])!r}),"]
    width = len(config["features"])
    for spec in config["model"]["layers"]:
        u, init = spec["units"], _INIT[spec["init"]]
        if spec["activation"] == "maxout":
            lines.append(f"    nn.Maxout({width}, {u}, pieces={spec['pieces']}, init={init!r}),")
        else:
            lines.append(f"    nn.Linear({width}, {u}, init={init!r}),")
        if spec["init"] == "uniform":
            lines.append("    # (its weights are redrawn from U(-0.5, 0.5) below)")
        if spec["batchnorm"]:
            lines.append(f"    nn.BatchNorm1d({u}),")
        if spec["activation"] != "maxout":
            lines.append(f"    nn.{_ACT[spec['activation']].__name__}(),")
        if spec["dropout"] > 0:
            lines.append(f"    nn.Dropout({spec['dropout']!r}),")
        width = u
    lines.append(f"    nn.Linear({width}, {outputs}, init='xavier'),")
    return lines


def _array(a, dtype) -> str:
    if dtype == "float32":
        return "np.array(" + repr(np.asarray(a, np.float64).tolist()) + ", dtype=np.float32)"
    return "np.array(" + repr(np.asarray(a).tolist()) + ", dtype=np.int64)"


def python_script(session) -> str:
    """A runnable script: the session's points, the network, the loss, optimizer, regularization and
    minibatch order, trained for as many steps as the session has (``--steps`` to change). With no live
    change during the session, its weights equal the session's bit for bit."""
    c, o = session.config, session.config["optim"]
    outputs = session.classes
    reg = session.regression
    uniform = [i for i, l in enumerate(c["model"]["layers"]) if l["init"] == "uniform"]
    if c["model"]["loss"] == "cross_entropy":
        loss = "nn.CrossEntropyLoss()"
    elif c["model"]["loss"] == "svm":
        loss = "nn.MultiClassSVMLoss()"
    elif reg:
        loss = "nn.MSELoss()"
    else:
        loss = f"OneHotMSELoss({outputs})"
    mom = o["momentum"]
    opt = {
        "sgd": f"optim.SGD(params, lr={o['lr']!r})",
        "momentum": f"optim.SGD(params, lr={o['lr']!r}, momentum={mom!r})",
        "nesterov": f"optim.SGD(params, lr={o['lr']!r}, momentum={mom!r}, nesterov=True)",
        "adagrad": f"optim.Adagrad(params, lr={o['lr']!r})",
        "rmsprop": f"optim.RMSprop(params, lr={o['lr']!r})",
        "adam": f"optim.Adam(params, lr={o['lr']!r}, betas=({mom if mom > 0 else 0.9!r}, 0.999))",
    }[o["optimizer"]]
    ytype = "float32" if reg else "int64"
    target = "nnlab.tensor(yb.reshape(-1, 1))" if reg else "yb"
    lines = [
        '"""Rebuild and retrain the nnlab playground model.',
        "",
        f"Data set {c['data']['dataset']!r} ({len(session.X_train)} training, {len(session.X_test)} test points, written "
        "below), features " + ", ".join(c["features"]) + ".",
        "Settings as they are now; changes made during the session while it trained are not replayed",
        "(replay the session file for that).",
        '"""',
        "import argparse",
        "",
        "import numpy as np",
        "",
        "import nnlab",
        "from nnlab import nn, optim",
        "from nnlab.optim import schedules",
        "from nnlab.playground.model import FeatureMap, scheduled_lr",
        "from nnlab.train.models import OneHotMSELoss",
        "",
        "parser = argparse.ArgumentParser()",
        f"parser.add_argument('--steps', type=int, default={session.step_count})",
        "parser.add_argument('--save', default=None, help='write the trained model as an nnlab checkpoint')",
        "args = parser.parse_args()",
        "",
        f"X_train = {_array(session.X_train, 'float32')}",
        f"y_train = {_array(session.y_train, ytype)}",
        "X_test = "
        + (
            _array(session.X_test, "float32").replace("[]", "np.zeros((0, 2))")
            if len(session.X_test)
            else "np.zeros((0, 2), dtype=np.float32)"
        ),
        f"y_test = {_array(session.y_test, ytype)}",
        "",
        f"nnlab.manual_seed({c['model']['seed']})  # weight init and dropout masks",
        "model = nn.Sequential(",
        *_layer_lines(c, outputs),
        ")",
    ]
    if uniform:
        idx = ", ".join(str(i) for i in uniform)
        lines += [
            "hidden = [m for m in model if isinstance(m, (nn.Linear, nn.Maxout))][:-1]",
            f"for i in ({idx},):",
            "    nn.init.uniform_(hidden[i].weight, -0.5, 0.5)  # TF Playground's init",
        ]
    lines += [
        f"loss_fn = {loss}",
        "params = list(model.parameters())",
        f"optimizer = {opt}",
        f"regularizer = nn.Regularizer(l2={o['l2']!r}, l1={o['l1']!r})"
        if (o["l1"] or o["l2"])
        else "regularizer = None",
        f"max_norm = nn.MaxNorm({o['max_norm']!r})" if o["max_norm"] > 0 else "max_norm = None",
        f"settings = {dict(o)!r}",
        f"batches = np.random.default_rng([{c['model']['seed']}, 1])  # minibatch order",
        "",
        "perm, pos, epoch = None, 0, 0",
        "model.train()",
        "for step in range(args.steps):",
        "    if perm is None or pos >= len(perm):",
        "        if perm is not None:",
        "            epoch += 1",
        "        perm, pos = batches.permutation(len(X_train)), 0",
        f"    idx = perm[pos:pos + {o['batch_size']}]",
        f"    pos += {o['batch_size']}",
        "    Xb, yb = X_train[idx], y_train[idx]",
        "    for group in optimizer.param_groups:",
        "        group['lr'] = scheduled_lr(settings, epoch)",
        f"    loss = loss_fn(model(nnlab.tensor(Xb)), {target})",
        "    total = loss if regularizer is None else loss + regularizer(model)",
        "    optimizer.zero_grad()",
        "    total.backward()",
        "    optimizer.step()",
        "    if max_norm is not None:",
        "        max_norm.apply(model)",
        "",
        "model.eval()",
        "with nnlab.no_grad():",
        "    for name, X, y in (('train', X_train, y_train), ('test', X_test, y_test)):",
        "        if len(X):",
        "            out = model(nnlab.tensor(X))",
        f"            print(name, 'loss', float(loss_fn(out, {target.replace('yb', 'y')}).data)"
        + (")" if reg else ", 'accuracy', float(np.mean(out.data.argmax(1) == y)))"),
        "if args.save:",
        "    nnlab.save(model, args.save)",
        "",
    ]
    return "\n".join(lines)
