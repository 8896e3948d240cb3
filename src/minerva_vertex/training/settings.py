"""What a model is and how its training runs, built from the validated config.

Defaults live in the schemas only (``models.schema.yaml`` for :class:`TrainSettings`,
``training.schema.yaml`` for :class:`RunOptions`), filled in once by
:mod:`minerva_vertex.settings`: ``from_filled`` takes values already filled (rule train's,
from the Snakefile's validated config); ``from_dict`` and ``from_section`` fill a partial
entry first (callers outside the workflow).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields

from minerva_vertex import settings as schema_settings


@dataclass(frozen=True)
class TrainSettings:
    """Everything that changes the weights (config ``models.<name>``)."""

    kind: str  # cnn | dann | finetune | mcc (minerva_vertex.model_kinds)
    train_sample: str
    epochs: int
    batch_size: int  # source events per step; a DANN or MCC network adds as many target events
    optimizer: str  # adam | sgd (with momentum)
    learning_rate: float
    momentum: float
    lr_schedule: str
    lr_inv_gamma: float
    lr_power: float
    lr_ganin_alpha: float
    lr_warmup_fraction: float
    weight_decay: float
    dropout: float
    domain_loss_weight: float
    lambda_schedule: str
    lambda_max: float
    lambda_gamma: float
    mcc_loss_weight: float  # mcc: weight of the class-confusion loss
    mcc_temperature: float  # mcc: softmax temperature of the class-confusion loss
    labels: str  # segments | planecodes
    input_transform: str  # none | sqrt | log1p, applied to the images before the first convolution
    activation: str  # relu | leaky_relu, after every convolution and hidden layer
    normalization: str  # none | batch, after every convolution
    weight_init: str  # default | he: how the weights of a network trained from scratch start
    init_from: str | None  # a configured model whose trained weights this one starts from
    selection: str  # source_loss | dev: the rule that picks the epoch kept
    weight_averaging: str  # none | ema: the weights kept are the trained ones or their moving average
    ema_decay: float
    channels: int
    seed: int
    max_train_events: int | None
    max_val_events: int | None
    target_sample: str | None = None  # dann and mcc only; absent from the schema's defaults by design

    @classmethod
    def from_dict(cls, values: Mapping, name: str = "model") -> "TrainSettings":
        """A model's config entry, validated, with the schema's defaults for what it leaves
        out (``target_sample: None``, as :func:`dataclasses.asdict` writes a CNN's, is left out)."""
        values = {k: v for k, v in values.items() if not (k == "target_sample" and v is None)}
        return cls.from_filled(schema_settings.entry("models", name, values), name)

    @classmethod
    def from_filled(cls, values: Mapping, name: str = "model") -> "TrainSettings":
        """A model's entry of a validated config, every default already filled in."""
        return cls(**_complete(cls, values, f"models.{name}"))


@dataclass(frozen=True)
class RunOptions:
    """How a training job runs (config ``training``, less the scheduler's resources)."""

    device: str
    memory_limit_mb: float
    chunk_events: int
    channels_last: bool
    precision: str  # auto | fp32 | bf16
    compile: bool
    checkpoint_minutes: float
    progress: bool

    @classmethod
    def from_section(cls, section: Mapping | None) -> "RunOptions":
        """The config's ``training`` section (resources included or not), validated, with
        the schema's defaults for what it leaves out."""
        return cls.from_filled(schema_settings.section("training", section))

    @classmethod
    def from_filled(cls, section: Mapping) -> "RunOptions":
        """The ``training`` section of a validated config (resources included or not)."""
        names = {f.name for f in fields(cls)}
        return cls(**_complete(cls, {k: v for k, v in section.items() if k in names}, "training"))

    def result_options(self) -> dict:
        """The options that can change the weights (device, kernels, data order), which
        enter the resume fingerprint; progress bars never do."""
        run_only = schema_settings.RUN_ONLY["training"]
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in run_only}


def _complete(cls, values: Mapping, key: str) -> dict:
    """``values`` when they name exactly the fields of ``cls``, else a SettingsError naming
    the key: settings built from filled values never fall back on a default of their own."""
    required = {f.name for f in fields(cls) if f.default is MISSING}
    missing = sorted(required - set(values))
    unknown = sorted(set(values) - {f.name for f in fields(cls)})
    if missing or unknown:
        problem = f"missing {', '.join(missing)}" if missing else f"unknown {', '.join(unknown)}"
        raise schema_settings.SettingsError(key, f"{problem} (expected the schema's defaults filled in: minerva_vertex.settings)")
    return dict(values)
