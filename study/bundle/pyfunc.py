"""A text bundle as an MLflow pyfunc model: what `export --register` registers, so the
registry's own tools load it (`mlflow.pyfunc.load_model("models:/NAME/1")`) and serve it
(`mlflow models serve -m models:/NAME/1`).

One model answers both questions the text CVAE can: a request's rows are either
conversions, `{word, from, to}` -> the converted word, or generation, `{n, seed}` -> n new
verbs in all four tenses from Gaussian noise (seeded). Bad input, or more than LIMITS, is
refused with MLflow's INVALID_PARAMETER_VALUE (a server answers 400) and the message the CLI
gives for it, never a traceback; a column the signature does not name is dropped by MLflow
before the model sees it (with a warning in the server's log). The bundle travels as the
model's artifact and is loaded by `load_bundle` (safetensors and JSON). What MLflow pickles
is its own contract, not ours: `python_model.pkl` holds this class by reference
(cloudpickle of an instance with no state), which is how every pyfunc model names its
code; the weights are never pickled. Video models stay bundles: a clip is a folder of
frames and condition files, not a table row, so `cvae-study predict` serves them.
"""

import math
import numbers
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.types.schema import AnyType, ColSpec, Schema

from cvae_study.datasets import tense
from cvae_study.datasets.errors import DataError
from cvae_study.study.errors import BAD_INPUT, UsageError

BUNDLE_ARTIFACT = "bundle"
CONVERSION = ("word", "from", "to")
GENERATION = ("n", "seed")
MAX_GENERATED = 1000  # per row
# Per request, so one request cannot hold a server's worker (its requests share one Python
# interpreter): the model's config (MLflow's model_config), changed at serving time with
# MLFLOW_PYFUNC_INFERENCE_CONFIG='{"max_rows": 20}'. The time of a request at the limits:
# benchmarks/README.md#serving-load.
LIMITS = {"max_rows": 100, "max_generated": 2000}
# n and seed are whole numbers, declared Any: a request mixing both kinds of row leaves them
# empty (NaN) in its conversion rows, which a long column refuses in MLflow's words before
# the model can say what is wrong (and a double column refuses a DataFrame's int64); the
# model checks them itself.
SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec("string", "word", required=False),
                   ColSpec("string", "from", required=False),
                   ColSpec("string", "to", required=False),
                   ColSpec(AnyType(), "n", required=False),
                   ColSpec(AnyType(), "seed", required=False)]),
    outputs=Schema([ColSpec("string", "kind"), ColSpec("string", "converted", required=False),
                    *(ColSpec("string", name, required=False) for name in tense.TENSES)]))
INPUT_EXAMPLE = pd.DataFrame([{"word": "abandon", "from": "sp", "to": "p"}])


def limits_of(config: dict[str, Any] | None) -> dict[str, int]:
    """The request limits of a model's config (LIMITS where it has none: a model saved
    before they existed)."""
    limits = {**LIMITS, **{key: value for key, value in (config or {}).items()
                           if key in LIMITS}}
    for key, value in limits.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UsageError(f"model config {key} {value!r}: a whole number of at least 1")
    return limits


class TextBundleModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        from cvae_study.study.bundle.bundle import load_bundle

        self.bundle = load_bundle(context.artifacts[BUNDLE_ARTIFACT], task_wanted="text")
        self.limits = limits_of(context.model_config)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        """Bad rows, or too many: MLflow's invalid-parameter error, so a server answers 400
        with the message the CLI gives for the same input, and no traceback."""
        try:
            return self._answer(model_input)
        except BAD_INPUT as error:
            raise MlflowException(str(error), error_code=INVALID_PARAMETER_VALUE) from None

    def _answer(self, rows: pd.DataFrame) -> pd.DataFrame:
        if len(rows) > self.limits["max_rows"]:
            raise UsageError(f"a request holds at most {self.limits['max_rows']} rows (the "
                             f"model's max_rows); this one has {len(rows)}")
        columns = set(rows.columns)
        if columns >= set(CONVERSION) and not columns & set(GENERATION):
            return self._convert(rows)
        if columns >= set(GENERATION) and not columns & set(CONVERSION):
            return self._generate(rows)
        raise UsageError(f"a request's rows are conversions ({', '.join(CONVERSION)}) or "
                         f"generation ({', '.join(GENERATION)}), not columns "
                         f"{', '.join(map(str, rows.columns))}")

    def _convert(self, rows: pd.DataFrame) -> pd.DataFrame:
        from cvae_study.study.tasks.text import convert_words

        items = [_conversion(number, row) for number, row in
                 enumerate(rows[list(CONVERSION)].itertuples(index=False, name=None), 1)]
        converted = convert_words(self.bundle.model, items, self.bundle.meta["max_length"])
        return pd.DataFrame({"kind": "conversion", "converted": converted})

    def _generate(self, rows: pd.DataFrame) -> pd.DataFrame:
        from cvae_study.study.tasks.text import generate_words

        asked = [_generation(number, row) for number, row in
                 enumerate(rows[list(GENERATION)].itertuples(index=False, name=None), 1)]
        total = sum(count for count, _ in asked)
        if total > self.limits["max_generated"]:
            raise UsageError(f"a request generates at most {self.limits['max_generated']} "
                             f"verbs (the model's max_generated); this one asks for {total}")
        out: list[dict[str, Any]] = []
        for count, seed in asked:
            words = generate_words(self.bundle.model, count, seed,
                                   self.bundle.meta["max_length"], self.bundle.config.eval.beam)
            out += [{"kind": "generation", **dict(zip(tense.TENSES, forms, strict=True))}
                    for forms in words]
        return pd.DataFrame(out)


def _given(number: int, names: tuple[str, ...], values: tuple) -> None:
    """A row's cells of its kind: none may be empty (null, NaN)."""
    for name, value in zip(names, values, strict=True):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            raise UsageError(f"row {number}: {name} is empty (null or NaN)")


def _conversion(number: int, row: tuple) -> tense.Conversion:
    """One row {word, from, to}, checked as `cvae-study convert` checks its arguments."""
    _given(number, CONVERSION, row)
    word, source, target = (str(value) for value in row)
    try:
        source_tense, target_tense = tense.parse_tense(source), tense.parse_tense(target)
        tense.encode_word(word)  # a character outside a-z: an error naming it
    except DataError as error:
        raise type(error)(f"row {number}: {error}") from None
    return tense.Conversion(word, source_tense, "", target_tense)


def _whole(number: int, name: str, value: Any) -> int:
    """A cell that must hold a whole number (a double holds each one up to 2**53 exactly)."""
    if (not isinstance(value, numbers.Real) or isinstance(value, bool)
            or not math.isfinite(value) or value != int(value) or abs(value) > 2**53):
        raise UsageError(f"row {number}: {name} {value!r}: a whole number, at most 2**53 "
                         "in size")
    return int(value)


def _generation(number: int, row: tuple) -> tuple[int, int]:
    """One row {n, seed} -> (n, seed), n between 1 and MAX_GENERATED."""
    _given(number, GENERATION, row)
    count, seed = (_whole(number, name, value) for name, value in zip(GENERATION, row,
                                                                      strict=True))
    if count < 1:
        raise UsageError(f"row {number}: n {count}: must be at least 1")
    if count > MAX_GENERATED:
        raise UsageError(f"row {number}: n {count}: at most {MAX_GENERATED} per row")
    return count, seed


def save(bundle: Path, folder: Path) -> None:
    """The pyfunc model of a text bundle, written to `folder` (MLflow's layout)."""
    mlflow.pyfunc.save_model(
        str(folder), python_model=TextBundleModel(), artifacts={BUNDLE_ARTIFACT: str(bundle)},
        signature=SIGNATURE, input_example=INPUT_EXAMPLE, model_config=dict(LIMITS),
        pip_requirements=_requirements())


def _requirements() -> list[str]:
    """This installation's own packages: what a fresh environment would need."""
    from importlib.metadata import version

    return [f"{package}=={version(package)}" for package in
            ("cvae-study", "torch", "safetensors", "lemminflect", "nltk", "pandas", "mlflow")]
