"""Speech adapters: audio files and devices, voice activity detection, speech-to-text, text-to-speech.

Vendor packages (faster-whisper, hibari, piper, sounddevice) are imported only inside their adapter
functions, with an install hint when missing (`pip install -e ".[speech]"`).
"""

INSTALL_HINT = 'install the speech extra: pip install -e ".[speech]" (or scripts/setup.sh)'
