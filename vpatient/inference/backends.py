"""Backends by name, for the CLI and the persona engine. Each import happens only when asked for."""

from __future__ import annotations

from typing import Any

BACKENDS = ("llamacpp", "transformers", "openai")

_ALIASES = {
    "llama.cpp": "llamacpp",
    "llama-cpp": "llamacpp",
    "hf": "transformers",
    "openai-compatible": "openai",
}


def canonical(name: str) -> str:
    """The backend's own name for one of its aliases ("llama.cpp" -> "llamacpp")."""
    return _ALIASES.get(name, name)


def create_backend(
    name: str = "llamacpp", *, model: str | None = None, endpoint: str | None = None, **options: Any
) -> Any:
    """A vpatient chat model (a LangChain BaseChatModel) for `InferenceCore(...)`.

    - "llamacpp": `model` is a .gguf path (default: the packaged SmolLM2-135M-Instruct); options
      n_parallel, ctx_per_slot, n_threads.
    - "transformers": `model` is a local Hugging Face folder (or "tiny:FOLDER", made on the fly);
      options batch_size, device, dtype, gguf_file, threads.
    - "openai": `endpoint` is the base URL (e.g. http://127.0.0.1:8000/v1); `model` its model name;
      options api_key, concurrency, read_timeout_s.
    """
    key = canonical(name)
    if key == "llamacpp":
        from .llamacpp import ChatLlamaCpp

        return ChatLlamaCpp(model_path=model, **options)
    if key == "transformers":
        if not model:
            raise ValueError("the transformers backend needs model=FOLDER (a local Hugging Face model folder)")
        from .transformers_backend import ChatTransformers

        if model.startswith("tiny:"):
            from .tiny import make_tiny_llama

            model = str(make_tiny_llama(model[len("tiny:") :]))
        return ChatTransformers(model_path=model, **options)
    if key == "openai":
        if not endpoint:
            raise ValueError("the openai backend needs endpoint=URL, e.g. http://127.0.0.1:8000/v1")
        from .openai_compat import ChatOpenAICompatible

        return ChatOpenAICompatible(base_url=endpoint, model=model or "default", **options)
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
