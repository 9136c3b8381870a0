"""``clipcop vqa train`` and ``clipcop vqa eval``: E-SA video QA on clip features (paper Sec. IV-D, Table VI)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from clipcop.cli.options import DATA, MODEL, OUTPUT, TRAINING, ConfigFile, Device, Json, Quiet, Seed
from clipcop.cli.output import emit
from clipcop.cli.settings import given_flags, resolve
from clipcop.engine.reporting import Reporter
from clipcop.errors import UsageError

app = typer.Typer(
    help="Video question answering with E-SA on clip features (ActivityNet-QA format).", no_args_is_help=True
)

Features = Annotated[
    str,
    typer.Option(
        "--features", rich_help_panel=DATA, help="Feature file of 20 clips per video (clipcop extract --clips 20)."
    ),
]
QaDir = Annotated[
    str,
    typer.Option(
        "--qa", rich_help_panel=DATA, help="Folder with {train,val,test}_q.json and _a.json (ActivityNet-QA)."
    ),
]
Glove = Annotated[
    str | None,
    typer.Option(
        "--glove",
        rich_help_panel=DATA,
        help="GloVe text vectors (e.g. glove.6B.300d.txt); default: learned embeddings.",
    ),
]
MaybeFeatures = Annotated[
    str | None,
    typer.Option(
        "--features", rich_help_panel=DATA, help="Feature file of 20 clips per video (required here or in --config)."
    ),
]
MaybeQaDir = Annotated[
    str | None, typer.Option("--qa", rich_help_panel=DATA, help="ActivityNet-QA folder (required here or in --config).")
]
BatchSize = Annotated[int, typer.Option("--batch-size", rich_help_panel=TRAINING, help="Questions per step.")]
MaxQuestionWords = Annotated[
    int,
    typer.Option(
        "--max-question-words",
        rich_help_panel=DATA,
        help="Read at most this many words of a question (longer: cut, counted).",
    ),
]


@app.command("train")
def train(
    ctx: typer.Context,
    config_file: ConfigFile = None,
    features: MaybeFeatures = None,
    qa: MaybeQaDir = None,
    glove: Glove = None,
    tune_embeddings: Annotated[
        bool,
        typer.Option("--tune-embeddings", rich_help_panel=MODEL, help="Fine-tune GloVe embeddings (default: frozen)."),
    ] = False,
    out: Annotated[
        str | None, typer.Option("--out", rich_help_panel=OUTPUT, help="Run folder (default runs/vqa-FEATURES).")
    ] = None,
    answers: Annotated[
        int,
        typer.Option("--answers", rich_help_panel=DATA, help="Answer classes: the K most frequent training answers."),
    ] = 1000,
    min_word_count: Annotated[
        int, typer.Option("--min-word-count", rich_help_panel=DATA, help="Keep words seen this often.")
    ] = 1,
    max_question_words: MaxQuestionWords = 64,
    embed_dim: Annotated[
        int, typer.Option("--embed-dim", rich_help_panel=MODEL, help="Size of learned embeddings (GloVe: its own).")
    ] = 300,
    hidden: Annotated[
        int, typer.Option("--hidden", rich_help_panel=MODEL, help="LSTM hidden size and attention size (E-SA: 300).")
    ] = 300,
    dropout: Annotated[
        float,
        typer.Option("--dropout", rich_help_panel=MODEL, help="Dropout on embeddings, clips and the fused vector."),
    ] = 0.5,
    epochs: Annotated[int, typer.Option("--epochs", rich_help_panel=TRAINING, help="Training epochs.")] = 30,
    batch_size: BatchSize = 64,
    lr: Annotated[
        float, typer.Option("--lr", rich_help_panel=TRAINING, help="Adam learning rate (E-SA: 1e-3).")
    ] = 1e-3,
    weight_decay: Annotated[
        float, typer.Option("--weight-decay", rich_help_panel=TRAINING, help="L2 penalty (E-SA: small, 1e-5).")
    ] = 1e-5,
    val_split: Annotated[
        str, typer.Option("--val-split", rich_help_panel=TRAINING, help="Split used to pick the best epoch.")
    ] = "val",
    device: Device = "auto",
    seed: Seed = 0,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Train E-SA on the train split, keep the best validation epoch, and score it on test (Table VI).

    Examples:
      clipcop extract --checkpoint runs/vcop/best.safetensors \\
        --data ~/anet/videos --clips 20 --out anet.safetensors
      clipcop vqa train --features anet.safetensors --qa ~/anet/qa \\
        --glove glove.6B.300d.txt --out runs/vqa-vcop
    """
    from clipcop.vqa.train import VQAConfig, train_vqa

    config = resolve(VQAConfig, config_file, given_flags(ctx), build=_vqa_config)
    result = train_vqa(config, reporter=Reporter(quiet=quiet))
    emit(result.record(), as_json=json_out)


@app.command("eval")
def evaluate(
    checkpoint: Annotated[
        str,
        typer.Option("--checkpoint", rich_help_panel=MODEL, help="A vqa checkpoint (best.safetensors of vqa train)."),
    ],
    features: Features,
    qa: QaDir,
    split: Annotated[
        str, typer.Option("--split", rich_help_panel=DATA, help="Which {split}_q.json to answer.")
    ] = "test",
    predictions: Annotated[
        str | None,
        typer.Option(
            "--predictions",
            rich_help_panel=OUTPUT,
            help="Where to write [{question_id, answer}] (default: beside CKPT).",
        ),
    ] = None,
    glove: Annotated[
        str | None,
        typer.Option(
            "--glove",
            rich_help_panel=DATA,
            help="GloVe vectors for test words unseen in training (frozen-GloVe models).",
        ),
    ] = None,
    batch_size: BatchSize = 256,
    max_question_words: MaxQuestionWords = 64,
    device: Device = "auto",
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Answer a split's questions, write predictions as [{question_id, answer}], and score them (Table VI).

    Without {split}_a.json the predictions are written and nothing is scored. --glove gives words unseen in
    training their GloVe vectors (models trained with frozen GloVe only).

    Example:
      clipcop vqa eval --checkpoint runs/vqa-vcop/best.safetensors \\
        --features anet.safetensors --qa ~/anet/qa
    """
    from clipcop.vqa.evaluate import VQAEvalConfig, eval_vqa

    config = VQAEvalConfig(
        checkpoint=checkpoint,
        features=features,
        qa=qa,
        split=split,
        predictions=predictions,
        glove=glove,
        batch_size=batch_size,
        max_question_words=max_question_words,
        device=device,
    )
    result = eval_vqa(config, reporter=Reporter(quiet=quiet))
    emit(result.record(), as_json=json_out)


def _vqa_config(options: dict[str, Any]) -> Any:
    """``VQAConfig`` from flags alone: the feature file and the QA folder must be among them."""
    from clipcop.vqa.train import VQAConfig

    for flag, key in (("--features", "features"), ("--qa", "qa")):
        if options.get(key) is None:
            raise UsageError(f"vqa train needs {flag} (on the command line or in --config)")
    return VQAConfig(**options)
