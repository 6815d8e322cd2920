# Sourced by every script in experiments/ (POSIX sh: dash, bash and zsh run it alike), after it has set
# BASE_DATADIR and changed to the repository root.
#   section TITLE [DATASET]   start a section; one that needs DATASET (under $BASE_DATADIR) is skipped, with one line
#                             saying where it looked and how to fix it, when the dataset is not there
#   run ENTRY FLAGS...        run `$PYTHON ENTRY FLAGS...` in the current section; a failure is counted and the
#                             script goes on; DRY_RUN=1 adds --dry_run (--dry_run flags in a section without its data)
#   generator OUT STEPS FLAGS...  train (or resume, or reuse) GGL's generator checkpoint OUT, see below
#   finish                    exit 1 if any command failed, else 0
# PYTHON defaults to the project's .venv (made by `make demo`), else python3.

if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
case " $* " in
*" --download "*) DOWNLOAD=1 ;;
*) DOWNLOAD= ;;
esac
failures=0
have_data=1

section() {
  printf '\n== %s ==\n' "$1"
  have_data=1
  if [ -n "${2:-}" ] && [ -z "$DOWNLOAD" ]; then
    "$PYTHON" -m fedprivacy.data.available "$2" "$BASE_DATADIR" "$1" || have_data=0
  fi
}

run() {
  if [ "$have_data" = 0 ]; then
    [ -n "${DRY_RUN:-}" ] || return 0
    set -- "$@" --dry_run flags
  elif [ -n "${DRY_RUN:-}" ]; then
    set -- "$@" --dry_run
  fi
  "$PYTHON" "$@" || failures=$((failures + 1))
}

finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$failures command(s) failed" >&2
    exit 1
  fi
  exit 0
}

# generator OUT STEPS FLAGS...: train GGL's generator checkpoint OUT for STEPS updates, or, when OUT exists, resume it
# up to STEPS (a finished one is reused as it is; one trained with other flags is refused in one line).
generator() {
  out=$1
  steps=$2
  shift 2
  if [ -f "$out" ]; then set -- "$@" --resume; fi
  run -m fedprivacy.cli.train_generator --out "$out" --steps "$steps" "$@"
  # A dry run trains nothing: the section's commands that use the checkpoint are then checked by their flags.
  if [ -n "${DRY_RUN:-}" ] && [ ! -f "$out" ]; then have_data=0; fi
}
