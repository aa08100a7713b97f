# Corpus roots, one variable per corpus (ESPnet's db.sh). Set them here or in the environment; a recipe whose
# root is empty and that may download will put the corpus under its own downloads/ directory.
EARS=${EARS:-}
LIBRISPEECH=${LIBRISPEECH:-}
VOXBOX=${VOXBOX:-}
