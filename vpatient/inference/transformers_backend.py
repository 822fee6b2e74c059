"""transformers + torch for any local Hugging Face causal-LM folder (CUDA when present, else CPU),
with continuous batching of concurrent requests driven by the core's scheduler.

TransformersRunner keeps one left-padded batch: a KV cache whose rows are the running requests, a 2-D
attention mask, and each row's own position. Every `step()`:
1. drops the rows the scheduler aborted (cancelled, timed out, stopped) and trims all-padding columns;
2. decodes one token for every running row in one forward pass;
3. prefills the newly admitted requests together (left-padded) and merges their cache into the batch.
So a request joins the batch at the next step instead of waiting for the batch to drain, and a
barge-in frees its row at the next step.

Loading never touches a model hub (`local_files_only=True`). A GGUF file can be loaded too
(`gguf_file=`, needs the `gguf` and `accelerate` packages; transformers dequantises it to float).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import PrivateAttr

from vpatient.errors import BackendUnavailableError

from .langchain_adapter import VPatientChatModel
from .runner import StepRunner
from .scheduler import StepOutput
from .types import FinishReason, GenerationRequest

try:
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise BackendUnavailableError(
        f"transformers/torch are not installed ({exc}); install with: pip install 'vpatient[llm]'",
        backend="transformers",
    ) from exc

log = logging.getLogger(__name__)


@dataclass
class _Row:
    request: GenerationRequest
    next_pos: int
    generator: torch.Generator | None
    ids: list[int] = field(default_factory=list)
    text: str = ""


class TransformersRunner(StepRunner):
    """A stepping runner over one Hugging Face model. Use one per batch; `fork()` shares the weights."""

    backend_name = "transformers"

    def __init__(
        self,
        model_path: str | Path,
        *,
        device: str | None = None,
        dtype: str = "auto",
        max_batch_size: int = 8,
        gguf_file: str | None = None,
        threads: int | None = None,
    ):
        self.model_path = Path(model_path)
        self.gguf_file = gguf_file
        self.device_name = device
        self.dtype = dtype
        self.threads = threads
        self._max_batch = max_batch_size
        self.model_name = gguf_file or self.model_path.name
        self._shared: dict[str, Any] = {}  # model, tokenizer, device, eos ids, pad id, max positions
        self._load_lock = threading.Lock()
        self._rows: list[_Row] = []
        self._cache: Any = None
        self._mask: torch.Tensor | None = None
        self._last: torch.Tensor | None = None

    @property
    def max_batch_size(self) -> int:
        return self._max_batch

    def fork(self) -> TransformersRunner:
        """A runner with its own (empty) batch over the same loaded weights."""
        self.load()
        other = TransformersRunner(
            self.model_path,
            device=self.device_name,
            dtype=self.dtype,
            max_batch_size=self._max_batch,
            gguf_file=self.gguf_file,
            threads=self.threads,
        )
        other._shared = self._shared
        return other

    # ---- loading ---------------------------------------------------------------------------------
    def load(self) -> None:
        with self._load_lock:
            if self._shared:
                return
            if not self.model_path.is_dir():
                raise BackendUnavailableError(
                    f"{self.model_path} is not a folder; give a local Hugging Face model folder "
                    "(config.json, weights, tokenizer files)",
                    backend="transformers",
                )
            if self.threads:
                torch.set_num_threads(self.threads)
            device = torch.device(self.device_name or ("cuda" if torch.cuda.is_available() else "cpu"))
            if self.dtype == "auto":
                dtype: Any = torch.float32 if device.type == "cpu" else "auto"
            else:
                dtype = getattr(torch, self.dtype)
            extra: dict[str, Any] = {"gguf_file": self.gguf_file} if self.gguf_file else {}
            try:
                tokenizer = AutoTokenizer.from_pretrained(str(self.model_path), local_files_only=True, **extra)
                model = AutoModelForCausalLM.from_pretrained(
                    str(self.model_path), local_files_only=True, dtype=dtype, **extra
                )
            except (OSError, ValueError, ImportError) as exc:
                raise BackendUnavailableError(f"cannot load {self.model_path}: {exc}", backend="transformers") from exc
            model = model.to(device).eval()  # type: ignore[arg-type]
            if tokenizer.chat_template is None:
                raise BackendUnavailableError(
                    f"the tokenizer in {self.model_path} has no chat template; use an instruction-tuned "
                    "model or add chat_template to tokenizer_config.json",
                    backend="transformers",
                )
            eos: set[int] = set()
            for source in (model.generation_config.eos_token_id, tokenizer.eos_token_id):
                if isinstance(source, int):
                    eos.add(source)
                elif source:
                    eos.update(int(t) for t in source)
            pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else min(eos, default=0)
            max_pos = getattr(model.config, "max_position_embeddings", None) or 4096
            self._shared = {
                "model": model,
                "tokenizer": tokenizer,
                "device": device,
                "eos": eos,
                "pad": pad,
                "max_pos": int(max_pos),
            }
            self.model_name = self.gguf_file or self.model_path.name
            log.info("loaded %s on %s (transformers %s)", self.model_path, device, transformers.__version__)

    def close(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._rows = []
        self._cache = None
        self._mask = None
        self._last = None

    @property
    def running_ids(self) -> list[str]:
        return [r.request.request_id for r in self._rows]

    # ---- one step ----------------------------------------------------------------------------------
    def step(self, admitted: Sequence[GenerationRequest], aborted: Sequence[str]) -> list[StepOutput]:
        self.load()
        outputs: list[StepOutput] = []
        with torch.inference_mode():
            gone = set(aborted)
            if gone & {r.request.request_id for r in self._rows}:
                self._keep([i for i, r in enumerate(self._rows) if r.request.request_id not in gone])
            if self._rows:
                outputs += self._decode()
            if admitted:
                outputs += self._prefill(admitted)
            finished = {o.request_id for o in outputs if o.finished}
            if finished:
                self._keep([i for i, r in enumerate(self._rows) if r.request.request_id not in finished])
        return outputs

    def _decode(self) -> list[StepOutput]:
        assert self._mask is not None and self._last is not None
        model, device = self._shared["model"], self._shared["device"]
        batch = len(self._rows)
        self._mask = torch.cat([self._mask, torch.ones(batch, 1, dtype=self._mask.dtype, device=device)], dim=1)
        positions = torch.tensor([[r.next_pos] for r in self._rows], device=device)
        out = model(
            input_ids=self._last[:, None],
            attention_mask=self._mask,
            position_ids=positions,
            past_key_values=self._cache,
            use_cache=True,
            logits_to_keep=1,
        )
        self._cache = out.past_key_values
        for r in self._rows:
            r.next_pos += 1
        return self._sample(out.logits[:, -1, :], self._rows)

    def _prefill(self, requests: Sequence[GenerationRequest]) -> list[StepOutput]:
        model, device, pad = self._shared["model"], self._shared["device"], self._shared["pad"]
        prompts = [self._encode(r) for r in requests]
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), pad, dtype=torch.long, device=device)
        mask = torch.zeros((len(prompts), width), dtype=torch.long, device=device)
        for i, p in enumerate(prompts):
            ids[i, width - len(p) :] = torch.tensor(p, dtype=torch.long, device=device)
            mask[i, width - len(p) :] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        out = model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=DynamicCache(),
            use_cache=True,
            logits_to_keep=1,
        )
        rows = [_Row(r, len(p), _generator(r, device)) for r, p in zip(requests, prompts, strict=True)]
        outputs = self._sample(out.logits[:, -1, :], rows, merge=(out.past_key_values, mask))
        return outputs

    def _encode(self, request: GenerationRequest) -> list[int]:
        tokenizer = self._shared["tokenizer"]
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        ids: list[int] = tokenizer(text, add_special_tokens=False)["input_ids"]
        room = self._shared["max_pos"] - request.max_tokens
        if len(ids) > room > 0:
            log.warning("prompt of %s has %d tokens; keeping the last %d", request.request_id, len(ids), room)
            ids = ids[-room:]
        return ids

    def _sample(
        self, logits: torch.Tensor, rows: list[_Row], merge: tuple[Any, torch.Tensor] | None = None
    ) -> list[StepOutput]:
        tokens = logits.argmax(dim=-1)
        for i, row in enumerate(rows):
            req = row.request
            if req.temperature > 0:
                probs = torch.softmax(logits[i].float() / req.temperature, dim=-1)
                if req.top_p < 1.0:
                    sorted_p, order = probs.sort(descending=True)
                    drop = sorted_p.cumsum(0) - sorted_p > req.top_p
                    sorted_p[drop] = 0
                    probs = torch.zeros_like(probs).scatter_(0, order, sorted_p)
                tokens[i] = torch.multinomial(probs, 1, generator=row.generator)[0]
        if merge is not None:
            self._merge(rows, merge[0], merge[1], tokens)
        else:
            self._last = tokens
        outputs = []
        eos, tokenizer, max_pos = self._shared["eos"], self._shared["tokenizer"], self._shared["max_pos"]
        for row, tok in zip(rows, tokens.tolist(), strict=True):
            rid = row.request.request_id
            if tok in eos:
                outputs.append(StepOutput(rid, "", 0, finished=True, finish_reason="stop"))
                continue
            row.ids.append(tok)
            text = tokenizer.decode(row.ids, skip_special_tokens=True)
            piece = ""
            if not text.endswith("\ufffd"):  # an incomplete UTF-8 sequence waits for the next token
                common = _common_prefix(row.text, text)
                piece, row.text = text[common:], text
            full = row.next_pos + 1 >= max_pos
            outputs.append(StepOutput(rid, piece, 1, finished=full, finish_reason="length"))
        return outputs

    # ---- batch surgery -------------------------------------------------------------------------------
    def _merge(self, rows: list[_Row], cache: Any, mask: torch.Tensor, tokens: torch.Tensor) -> None:
        if not self._rows:
            self._rows, self._cache, self._mask, self._last = list(rows), cache, mask, tokens
            return
        assert self._mask is not None and self._last is not None
        width = max(self._mask.shape[1], mask.shape[1])
        pad = torch.nn.functional.pad
        layers = []
        for old, new in zip(_layers(self._cache), _layers(cache), strict=True):
            keys = torch.cat(
                [
                    pad(old[0], (0, 0, width - old[0].shape[2], 0)),
                    pad(new[0], (0, 0, width - new[0].shape[2], 0)),
                ]
            )
            values = torch.cat(
                [
                    pad(old[1], (0, 0, width - old[1].shape[2], 0)),
                    pad(new[1], (0, 0, width - new[1].shape[2], 0)),
                ]
            )
            layers.append((keys, values))
        self._cache = DynamicCache(layers)
        self._mask = torch.cat(
            [pad(self._mask, (width - self._mask.shape[1], 0)), pad(mask, (width - mask.shape[1], 0))]
        )
        self._last = torch.cat([self._last, tokens])
        self._rows += rows

    def _keep(self, keep: list[int]) -> None:
        if not keep:
            self.reset()
            return
        assert self._mask is not None and self._last is not None
        index = torch.tensor(keep, device=self._mask.device)
        mask = self._mask.index_select(0, index)
        start = int((mask.sum(0) > 0).nonzero()[0])  # leading columns that are padding in every row
        self._mask = mask[:, start:]
        self._cache = DynamicCache(
            [
                (k.index_select(0, index)[:, :, start:], v.index_select(0, index)[:, :, start:])
                for k, v in _layers(self._cache)
            ]
        )
        self._last = self._last.index_select(0, index)
        self._rows = [self._rows[i] for i in keep]

    # ---- one request alone (LangChain use without the core) ------------------------------------------
    def iter_one(self, request: GenerationRequest, cancelled: threading.Event) -> Generator[str, None, FinishReason]:
        """Generates one reply on this runner's own batch (use a fork() per concurrent caller)."""
        admitted: list[GenerationRequest] = [request]
        produced = 0
        try:
            while not cancelled.is_set():
                for out in self.step(admitted, []):
                    if out.text:
                        yield out.text
                    produced += out.tokens
                    if out.finished:
                        return out.finish_reason
                admitted = []
                if produced >= request.max_tokens:
                    return "length"
            return "stop"
        finally:
            self.reset()


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    return next((i for i in range(n) if a[i] != b[i]), n)


def _layers(cache: Any) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(layer.keys, layer.values) for layer in cache.layers]


def _generator(request: GenerationRequest, device: torch.device) -> torch.Generator | None:
    if request.temperature <= 0:
        return None
    gen = torch.Generator(device=device)
    gen.manual_seed(request.seed if request.seed is not None else random.getrandbits(63))
    return gen


class ChatTransformers(VPatientChatModel):
    """A local Hugging Face model as a LangChain chat model; served by the core with batching."""

    model_path: str
    device: str | None = None
    dtype: str = "auto"
    batch_size: int = 8
    gguf_file: str | None = None
    threads: int | None = None

    _runner: TransformersRunner | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "transformers"

    @property
    def model_name_for_reports(self) -> str:
        return self.gguf_file or Path(self.model_path).name

    @property
    def max_concurrency(self) -> int:
        return self.batch_size

    def runner(self) -> TransformersRunner:
        with self._lock:
            if self._runner is None:
                self._runner = TransformersRunner(
                    self.model_path,
                    device=self.device,
                    dtype=self.dtype,
                    max_batch_size=self.batch_size,
                    gguf_file=self.gguf_file,
                    threads=self.threads,
                )
            return self._runner

    def as_runner(self) -> TransformersRunner:
        return self.runner()

    def load(self) -> None:
        self.runner().load()

    def _iter_text(self, request: GenerationRequest, cancelled: threading.Event) -> Generator[str, None, FinishReason]:
        reason = yield from self.runner().fork().iter_one(request, cancelled)
        return reason
