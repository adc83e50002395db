"""Handing a trained run over: as TorchScript, ONNX, or a standalone MONAI bundle folder.

:func:`export_torchscript` writes the network with its weights through MONAI's
``ckpt_export``; :func:`export_onnx` as ONNX with dynamic tile sizes, checked against
PyTorch (:mod:`medunet.bundle.onnx_model`). :func:`export_bundle` writes a model-zoo bundle
a clinical researcher runs without the training run, the presets or this repository:

    DIR/configs/inference.yaml, train.yaml, evaluate.yaml, ...   (run's presets and
                                                                  overrides merged in)
    DIR/configs/metadata.json    version, changelog, the run's validation scores
    DIR/models/model.pt          (+ postprocess.json, spacing.json of the run, and
                                  model.onnx when medunet[onnx] is installed)
    DIR/docs/README.md           data, settings, scores, how to run it
    DIR/LICENSE

``python -m monai.bundle run --config_file DIR/configs/inference.yaml --bundle_root DIR
--dataset_dir DATA --output_dir OUT`` runs it from any folder (medunet installed). Both are
written beside their final name and renamed when complete.
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from medunet.bundle.config import LayeredConfig, layer_config
from medunet.bundle.inference import model_config
from medunet.bundle.onnx_model import write_onnx
from medunet.bundle.registry import Bundle, resolve_bundle
from medunet.bundle.runs import CONFIG_FILE, read_run
from medunet.data.io import atomic_path

__all__ = ["export_bundle", "export_onnx", "export_torchscript", "validation_scores"]

logger = logging.getLogger(__name__)

#: files of a run's models/ folder that travel with the weights
MODEL_FILES = ("model.pt", "postprocess.json", "spacing.json")


def _check_model(bundle: Bundle, model: str | Path) -> Path:
    path = Path(model).expanduser().resolve()
    if not path.is_file():
        raise ValueError(
            f"--model {model} does not exist; train one with `medunet train {bundle.name}`."
        )
    return path


def _has_model_key(model: Path) -> bool:
    import torch

    try:
        state = torch.load(model, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(
            f"{model} is not a PyTorch model file ({type(err).__name__}); pass RUN/models/model.pt."
        ) from err
    return isinstance(state, dict) and isinstance(state.get("model"), dict)


def _model_export(bundle, model, output, suffixes: tuple[str, ...], kind: str, presets,
                  settings) -> tuple[Bundle, Path, Path, LayeredConfig]:  # fmt: skip
    """The bundle, the model, the output file (its suffix checked) and the model's config."""
    bund = resolve_bundle(bundle)
    model_path = _check_model(bund, model)
    out = Path(output).expanduser()
    if out.suffix not in suffixes:
        raise ValueError(f"--output {output}: name the {kind} file *{suffixes[0]}.")
    return bund, model_path, out, model_config(bund, model_path, presets, settings)


def export_torchscript(
    bundle: str | Path,
    model: str | Path,
    output: str | Path,
    presets: Sequence[str | Path] = (),
    settings: Sequence[str] = (),
    overwrite: bool = False,
) -> Path:
    """TorchScript of ``bundle``'s ``network_def`` with the weights of ``model``."""
    from monai.bundle import ckpt_export

    bund, model_path, out, config = _model_export(bundle, model, output, (".ts", ".pt"),
                                                  "TorchScript", presets, settings)  # fmt: skip
    overrides = {k: v for k, v in config.overrides.items() if k != "device"}
    with atomic_path(out, overwrite=overwrite) as tmp:
        ckpt_export(
            net_id="network_def",
            filepath=str(tmp),
            ckpt_file=str(model_path),
            meta_file=str(bund.meta_file),
            config_file=[str(f) for f in config.files],
            key_in_ckpt="model" if _has_model_key(model_path) else None,
            **{**overrides, "bundle_root": str(bund.root)},
        )
    return out


def export_onnx(
    bundle: str | Path,
    model: str | Path,
    output: str | Path,
    presets: Sequence[str | Path] = (),
    settings: Sequence[str] = (),
    overwrite: bool = False,
) -> Path:
    """ONNX of ``bundle``'s ``network_def`` with the weights of ``model``: dynamic batch and
    tile sizes, the tile arithmetic in its metadata, logits within
    :data:`~medunet.bundle.onnx_model.ONNX_TOLERANCE` of PyTorch (checked before it is
    renamed onto ``output``). ``medunet infer --model FILE.onnx`` runs it on ONNX Runtime;
    saved as ``RUN/models/model.onnx`` it finds its run's settings as ``model.pt`` does."""
    bund, model_path, out, config = _model_export(bundle, model, output, (".onnx",), "ONNX",
                                                  presets, settings)  # fmt: skip
    parser = config.parser_with({**config.overrides, "bundle_root": str(bund.root),
                                 "device": "$torch.device('cpu')"})  # fmt: skip
    write_onnx(parser, model_path, out, overwrite=overwrite)
    return out


def validation_scores(run_dir: Path) -> dict[str, float]:
    """The validation scores of the run's best epoch (by its key metric), from TensorBoard,
    and the calibrated score of ``models/postprocess.json`` when there is one."""
    from medunet.visualize.figures import read_scalars

    scalars = read_scalars(run_dir / "tensorboard") if (run_dir / "tensorboard").is_dir() else {}
    val = {k: v for k, v in scalars.items() if k.startswith("val_") and v}
    scores: dict[str, float] = {}
    if val:
        key = next((k for k in ("val_ap50", "val_mean_dice") if k in val), sorted(val)[0])
        best_epoch = max(val[key], key=lambda pair: pair[1])[0]
        for name, series in sorted(val.items()):
            at_best = [value for epoch, value in series if epoch == best_epoch]
            if at_best and math.isfinite(at_best[-1]):
                scores[name] = round(float(at_best[-1]), 4)
        scores["best_epoch"] = int(best_epoch)
    post = run_dir / "models" / "postprocess.json"
    if post.is_file():
        record = json.loads(post.read_text())
        scores[f"val_calibrated_{record['metric']}"] = round(float(record["score"]), 4)
    return scores


def _readme(bundle: Bundle, run: dict, metadata: dict, scores: dict, data: str) -> str:
    presets = ", ".join(Path(p).stem for p in run.get("presets", [])) or "none"
    overrides = json.dumps(run["set"]) if run.get("set") else "none"
    rows = "\n".join(f"| {k} | {v} |" for k, v in scores.items()) or "| (none recorded) | |"
    return f"""# {metadata["name"]}

A model trained with medunet's `{bundle.name}` bundle, exported as a standalone MONAI bundle
on {datetime.date.today().isoformat()}. {metadata["description"]}

## Data

Trained on `{data}` (images in `imagesTr/`, labels in `labelsTr/`). What the bundle reads:
{metadata["data_source"]}.

## Settings

Presets: {presets}; overrides: {overrides}.
They are merged into `configs/train.yaml` and `configs/inference.yaml`, so nothing else is
needed to run or fine-tune this bundle (medunet must be installed: `pip install medunet`).

## Validation scores (the run's best epoch)

| score | value |
| --- | --- |
{rows}

## Run it

```bash
python -m monai.bundle run --config_file configs/inference.yaml --bundle_root . \\
    --dataset_dir DATA --output_dir OUT        # every image in DATA/imagesTs
python -m monai.bundle run --config_file "['configs/train.yaml','configs/evaluate.yaml']" \
    --bundle_root . --dataset_dir DATA         # scores on labelled DATA (imagesTr/labelsTr)
python -m monai.bundle verify_metadata --meta_file configs/metadata.json
```

## Licence

See `LICENSE`; the scores above are from the training run's validation images, not a
clinical evaluation. {metadata.get("intended_use", "")}
"""


def export_bundle(
    bundle: str | Path,
    model: str | Path,
    output: str | Path,
    presets: Sequence[str | Path] = (),
    settings: Sequence[str] = (),
    overwrite: bool = False,
    version: str | None = None,
) -> Path:
    """Write the trained ``model`` of ``bundle`` as a standalone bundle folder ``output``.

    Args:
        bundle: the bundle the run trained (folder or shipped name).
        model: ``RUN/models/model.pt`` of a ``medunet train`` run.
        output: the new bundle folder (its name is the bundle's name).
        presets, settings: more presets and ``ID=VALUE`` overrides, after the run's.
        overwrite: replace an existing ``output``.
        version: the exported bundle's version (default: the source bundle's, with the
            run's name as build metadata, e.g. ``0.2.0+cells``).

    Raises:
        ValueError: no model, or a model without its run's ``run.json``.
        FileExistsError: ``output`` exists and ``overwrite`` is False.
    """
    import torch

    bund = resolve_bundle(bundle)
    model_path = _check_model(bund, model)
    run = read_run(model_path)
    if run is None:
        raise ValueError(
            f"--model {model}: no run.json beside it; export a model of a `medunet train` run "
            "(its settings make the bundle), or use --format torchscript."
        )
    out = Path(output).expanduser().resolve()
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass --overwrite or another --output.")
    run_dir = model_path.parent.parent
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        (tmp / "configs").mkdir()
        (tmp / "models").mkdir()
        (tmp / "docs").mkdir()
        merged = {}
        for task in ("train", "inference"):
            config = layer_config(bund, task, presets, settings, run=run)
            merged[task] = config.merged()
            _write_yaml(tmp / "configs" / f"{task}.yaml", merged[task])
        for name in ("evaluate.yaml", "multi_gpu_train.yaml", "logging.conf"):
            if (bund.root / "configs" / name).is_file():
                shutil.copy(bund.root / "configs" / name, tmp / "configs" / name)
        state = torch.load(model_path, map_location="cpu", weights_only=True)
        torch.save(state, tmp / "models" / "model.pt")
        for name in MODEL_FILES[1:]:
            if (model_path.parent / name).is_file():
                shutil.copy(model_path.parent / name, tmp / "models" / name)
        _bundle_onnx(merged["inference"], bund, tmp / "models")
        scores = validation_scores(run_dir)
        metadata = json.loads(bund.meta_file.read_text())
        version = version or f"{metadata['version']}+{_build_tag(run_dir.name)}"
        metadata["changelog"] = {
            version: f"exported from the training run {run_dir.name} on "
            f"{datetime.date.today().isoformat()}",
            **metadata.get("changelog", {}),
        }
        metadata["version"] = version
        metadata["eval_metrics"] = {k: v for k, v in scores.items() if k != "best_epoch"}
        metadata["medunet"] = {"bundle": bund.name, "exported_from": str(run_dir)}
        _set_channels(metadata, merged["inference"])
        (tmp / "configs" / "metadata.json").write_text(json.dumps(metadata, indent=4))
        data = _run_data(run_dir) or str(merged["train"].get("dataset_dir", "?"))
        (tmp / "docs" / "README.md").write_text(_readme(bund, run, metadata, scores, data))
        shutil.copy(bund.root / "LICENSE", tmp / "LICENSE")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("exported %s (%s) to %s", bund.name, version, out)
    return out


def _bundle_onnx(config: dict, bundle: Bundle, models: Path) -> None:
    """``models/model.onnx`` beside ``model.pt`` (``medunet infer --backend onnxruntime``
    uses it), when ONNX is installed."""
    from monai.bundle import ConfigParser

    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        logger.info("no models/model.onnx in the bundle: pip install 'medunet[onnx]' for it")
        return
    parser = ConfigParser({**config, "bundle_root": str(bundle.root),
                           "device": "$torch.device('cpu')"})  # fmt: skip
    write_onnx(parser, models / "model.pt", models / "model.onnx", overwrite=True)


def _run_data(run_dir: Path) -> str | None:
    """The dataset folder the run trained on (its merged ``config.json``)."""
    try:
        return str(json.loads((run_dir / CONFIG_FILE).read_text())["dataset_dir"])
    except (OSError, ValueError, KeyError):
        return None


def _build_tag(name: str) -> str:
    tag = "".join(c if c.isalnum() else "." for c in name).strip(".")
    return tag or "run"


def _write_yaml(path: Path, config: dict) -> None:
    from monai.bundle import ConfigParser

    ConfigParser.export_config_file(config, str(path), fmt="yaml", default_flow_style=None)


def _set_channels(metadata: dict, config: dict) -> None:
    """The network's input and output channels in ``network_data_format`` (a preset or an
    override may have changed them, e.g. ``border_class``)."""
    fmt = metadata.get("network_data_format", {})
    inputs, outputs = fmt.get("inputs", {}).get("image"), fmt.get("outputs", {}).get("pred")
    in_ch = config.get("in_channels")
    out_ch = config.get("num_classes")
    if out_ch is None and isinstance(config.get("border_class"), bool):
        out_ch = 3 if config["border_class"] else 2
    if inputs is not None and isinstance(in_ch, int):
        inputs["num_channels"] = in_ch
    if outputs is not None and isinstance(out_ch, int):
        outputs["num_channels"] = out_ch
        names = ["background", "object", "touching border"] if "border_class" in config else None
        defs = outputs.get("channel_def", {})
        outputs["channel_def"] = {
            str(i): (names[i] if names and i < len(names) else defs.get(str(i), f"class {i}"))
            for i in range(out_ch)
        }
