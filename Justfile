# vpatient tasks. `scripts/setup.sh --dev` installs just itself into .venv.
set shell := ["bash", "-euo", "pipefail", "-c"]

venv := justfile_directory() / ".venv/bin"

# install the application and the dev tools into .venv
setup:
    bash scripts/setup.sh --dev

# a scripted consultation on the embedded defaults
run *ARGS:
    {{venv}}/vpatient demo {{ARGS}}

# the test suite alone (`just check` adds lint and type checks)
test *ARGS:
    {{venv}}/python -m pytest -q {{ARGS}}

# lint, format check, type-check and the whole test suite (what CI and the README's second command run)
check:
    {{venv}}/ruff check vpatient tests
    {{venv}}/ruff format --check vpatient tests
    {{venv}}/mypy
    {{venv}}/python -m pytest -q

# validate every shipped persona
personas:
    {{venv}}/vpatient persona validate

# fidelity of the persona engine on every shipped persona
fidelity:
    {{venv}}/vpatient eval fidelity --persona personas/*.yaml

# benchmarks (figures, not pass/fail)
bench:
    {{venv}}/vpatient bench engine
    {{venv}}/vpatient bench grader
    {{venv}}/vpatient bench inference --backend llamacpp --sessions 1,4,8
