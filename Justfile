# vpatient tasks. `scripts/setup.sh --dev` installs just itself into .venv.
set shell := ["bash", "-euo", "pipefail", "-c"]

venv := justfile_directory() / ".venv/bin"

# install the application and the dev tools into .venv
setup:
    bash scripts/setup.sh --dev

# a scripted consultation on the embedded defaults
run *ARGS:
    {{venv}}/vpatient demo {{ARGS}}

# the test suite
test *ARGS:
    {{venv}}/python -m pytest -q {{ARGS}}

# lint, type-check and test
check:
    {{venv}}/ruff check vpatient tests
    {{venv}}/mypy
    {{venv}}/python -m pytest -q

# validate every shipped persona
personas:
    {{venv}}/vpatient persona validate personas/*.yaml

# fidelity of the persona engine on every shipped persona
fidelity:
    {{venv}}/vpatient eval fidelity --persona personas/*.yaml

# benchmarks (figures, not pass/fail)
bench:
    {{venv}}/vpatient bench engine
    {{venv}}/vpatient bench grader
    {{venv}}/vpatient bench inference --backend llamacpp --sessions 1,4,8
