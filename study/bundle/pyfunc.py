"""A text bundle as an MLflow pyfunc model: what `export --register` registers, so the
registry's own tools load it (`mlflow.pyfunc.load_model("models:/NAME/1")`) and serve it
(`mlflow models serve -m models:/NAME/1`).

One model answers both questions the text CVAE can: a request's rows are either
conversions, `{word, from, to}` -> the converted word, or generation, `{n, seed}` -> n new
verbs in all four tenses from Gaussian noise (seeded). The bundle travels as the model's
artifact and is loaded by `load_bundle` (safetensors and JSON). What MLflow pickles is its
own contract, not ours: `python_model.pkl` holds this class by reference (cloudpickle of
an instance with no state), which is how every pyfunc model names its code; the weights
are never pickled. Video models stay bundles: a clip is a folder of frames and condition
files, not a table row, so `cvae-study predict` serves them.
"""

from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.types.schema import ColSpec, Schema

from cvae_study.datasets import tense
from cvae_study.study.errors import UsageError

BUNDLE_ARTIFACT = "bundle"
CONVERSION = ("word", "from", "to")
GENERATION = ("n", "seed")
MAX_GENERATED = 1000  # per row: a request is answered in one go
SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec("string", "word", required=False),
                   ColSpec("string", "from", required=False),
                   ColSpec("string", "to", required=False),
                   ColSpec("long", "n", required=False),
                   ColSpec("long", "seed", required=False)]),
    outputs=Schema([ColSpec("string", "kind"), ColSpec("string", "converted", required=False),
                    *(ColSpec("string", name, required=False) for name in tense.TENSES)]))
INPUT_EXAMPLE = pd.DataFrame([{"word": "abandon", "from": "sp", "to": "p"}])


class TextBundleModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        from cvae_study.study.bundle.bundle import load_bundle

        self.bundle = load_bundle(context.artifacts[BUNDLE_ARTIFACT], task_wanted="text")

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        """Bad rows: MLflow's invalid-parameter error, so a server answers 400 with why."""
        columns = set(model_input.columns)
        try:
            if columns >= set(CONVERSION) and not columns & set(GENERATION):
                return self._convert(model_input)
            if columns >= set(GENERATION) and not columns & set(CONVERSION):
                return self._generate(model_input)
            raise UsageError(f"a request's rows are conversions ({', '.join(CONVERSION)}) or "
                             f"generation ({', '.join(GENERATION)}), not columns "
                             f"{', '.join(map(str, model_input.columns))}")
        except UsageError as error:
            raise MlflowException(str(error), error_code=INVALID_PARAMETER_VALUE) from None

    def _convert(self, rows: pd.DataFrame) -> pd.DataFrame:
        from cvae_study.study.tasks.text import convert_words

        items = []
        for word, source, target in rows[list(CONVERSION)].itertuples(index=False, name=None):
            tense.encode_word(word)  # a character outside a-z: an error naming it
            items.append(tense.Conversion(word, tense.parse_tense(source), "",
                                          tense.parse_tense(target)))
        converted = convert_words(self.bundle.model, items, self.bundle.meta["max_length"])
        return pd.DataFrame({"kind": "conversion", "converted": converted})

    def _generate(self, rows: pd.DataFrame) -> pd.DataFrame:
        from cvae_study.study.tasks.text import generate_words

        out: list[dict[str, Any]] = []
        for count, seed in zip(rows["n"], rows["seed"], strict=True):
            if not 1 <= int(count) <= MAX_GENERATED:
                raise UsageError(f"n {count}: between 1 and {MAX_GENERATED}")
            words = generate_words(self.bundle.model, int(count), int(seed),
                                   self.bundle.meta["max_length"], self.bundle.config.eval.beam)
            out += [{"kind": "generation", **dict(zip(tense.TENSES, forms, strict=True))}
                    for forms in words]
        return pd.DataFrame(out)


def save(bundle: Path, folder: Path) -> None:
    """The pyfunc model of a text bundle, written to `folder` (MLflow's layout)."""
    mlflow.pyfunc.save_model(
        str(folder), python_model=TextBundleModel(), artifacts={BUNDLE_ARTIFACT: str(bundle)},
        signature=SIGNATURE, input_example=INPUT_EXAMPLE,
        pip_requirements=_requirements())


def _requirements() -> list[str]:
    """This installation's own packages: what a fresh environment would need."""
    from importlib.metadata import version

    return [f"{package}=={version(package)}" for package in
            ("cvae-study", "torch", "safetensors", "lemminflect", "nltk", "pandas", "mlflow")]
