"""A tiny, randomly initialised Llama model with a locally built tokenizer, written to a folder.

It exercises the real transformers loading and generation code without a model hub: tests use it,
and `vpatient bench inference --backend transformers --model tiny` measures batching with it (its
output is gibberish, its speed is that of the code path, not of a real model).
"""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_CORPUS = [
    "Hello doctor, I have had this pain in my chest since yesterday morning.",
    "It feels tight, like a band around my chest, and it goes down my left arm.",
    "I smoke about ten cigarettes a day and my father had a heart attack at sixty.",
    "I take tablets for my blood pressure, amlodipine, five milligrams every morning.",
    "No, I have not had a cough or a fever. I feel a bit sick and sweaty.",
    "I am worried it might be something serious. My wife made me come in.",
    "What brings you in today? When did it start? Can you describe the pain?",
    "Do you have any allergies? Does anything make it better or worse?",
]


def make_tiny_llama(
    folder: str | Path, *, hidden_size: int = 64, layers: int = 2, vocab_size: int = 512, seed: int = 0
) -> Path:
    """Writes config, random weights, tokenizer (byte-level BPE trained here) and chat template."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    specials = ["<pad>", "<unk>", "<|im_start|>", "<|im_end|>"]
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_CORPUS, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        pad_token="<pad>",
        unk_token="<unk>",
        eos_token="<|im_end|>",
        bos_token="<|im_start|>",
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(folder)

    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=eos,
        bos_token_id=tokenizer.bos_token_id,
        tie_word_embeddings=False,
        initializer_range=0.5,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=eos, pad_token_id=tokenizer.pad_token_id)
    model.save_pretrained(folder)
    return folder
